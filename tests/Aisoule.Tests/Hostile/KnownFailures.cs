using System.Reflection;
using Xunit;

namespace Aisoule.Tests.Hostile;

/// <summary>
/// The one list of hostile cases still answered wrongly on this branch because another branch fixes them. Each row
/// is skipped here and left out of the sweep in <see cref="HostileInputTests"/>; deleting a row's <c>Skip</c> puts the
/// case back in both.
/// </summary>
[Collection(HostileWorkspace.Collection)]
public sealed class KnownFailures(HostileWorkspace workspace)
{
    [Theory]
    [InlineData("CreateContact", "name: 200 '#'", Skip = "fixed on branch i11-sizes")]
    [InlineData("CreateContact", "name: 200 key-escaping characters", Skip = "fixed on branch i11-sizes")]
    [InlineData("CreateContact", "custom_fields: object with 8,000 emoji", Skip = "fixed on branch i11-sizes")]
    [InlineData("UpdateContact", "name: 200 '#'", Skip = "fixed on branch i11-sizes")]
    [InlineData("UpdateContact", "name: 200 key-escaping characters", Skip = "fixed on branch i11-sizes")]
    [InlineData("UpdateContact", "custom_fields: object with 8,000 emoji", Skip = "fixed on branch i11-sizes")]
    [InlineData("BulkUpsertContacts", "name: 200 '#'", Skip = "fixed on branch i11-sizes")]
    [InlineData("BulkUpsertContacts", "name: 200 key-escaping characters", Skip = "fixed on branch i11-sizes")]
    [InlineData("BulkUpsertContacts", "custom_fields: object with 8,000 emoji", Skip = "fixed on branch i11-sizes")]
    [InlineData("SendMessage", "template.components: 10,000-element array", Skip = "fixed on branch i11-sizes")]
    [InlineData("SendMessage", "template.components: component with 40,000-character text", Skip = "fixed on branch i11-sizes")]
    [InlineData("ReceiveWhatsAppWebhook", "signed event with 100,000 characters", Skip = "webhook change past the 64 KB queue message (InboundChanges): no branch owns it yet")]
    [InlineData("ReceiveWhatsAppWebhook", "signed event with 10,000-element array", Skip = "webhook change past the 64 KB queue message (InboundChanges): no branch owns it yet")]
    [InlineData("ReceiveWhatsAppWebhook", "signed event with object with 8,000 emoji", Skip = "webhook change past the 64 KB queue message (InboundChanges): no branch owns it yet")]
    [InlineData("ReceiveWhatsAppWebhook", "signed event with component with 40,000-character text", Skip = "webhook change past the 64 KB queue message (InboundChanges): no branch owns it yet")]
    public async Task Known_case_is_refused_with_an_envelope_and_changes_nothing(string function, string name)
    {
        var descriptor = HostileInputTests.AppCatalog.Get(function);
        Assert.Single(HostileCases.For(descriptor, workspace), c => c.Name == name);

        var problems = await HostileInputTests.RunAsync(workspace, () => HostileCases.For(descriptor, workspace).Where(c => c.Name == name));

        Assert.Empty(problems);
    }

    private static readonly HashSet<(string Function, string Name)> Skipped =
        typeof(KnownFailures).GetMethod(nameof(Known_case_is_refused_with_an_envelope_and_changes_nothing))!
            .GetCustomAttributes<InlineDataAttribute>()
            .Where(a => a.Skip is not null)
            .Select(a => a.GetData(null!).Single())
            .Select(row => ((string)row[0], (string)row[1]))
            .ToHashSet();

    /// <summary>Set <c>HOSTILE_INCLUDE_KNOWN=1</c> to sweep the known failures too (to see which still fail).</summary>
    internal static bool Excludes(HostileCase c) =>
        Environment.GetEnvironmentVariable("HOSTILE_INCLUDE_KNOWN") != "1" && Skipped.Contains((c.Function, c.Name));
}
