namespace Aisoule.Tests.OpenApi;

/// <summary>TODO: the contacts area's cases.</summary>
internal static partial class ContractCases
{
    private static Task SetUpContactsAsync(ContractWorld world) => Task.CompletedTask;

    private static IEnumerable<ContractCase> Contacts() => [];
}
