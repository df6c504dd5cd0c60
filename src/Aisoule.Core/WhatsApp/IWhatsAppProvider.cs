using System.Text.Json;

namespace Aisoule.Core.WhatsApp;

/// <summary>
/// Where messages go: Meta's Cloud API (<see cref="CloudWhatsAppProvider"/>) or the embedded sandbox
/// (<see cref="SandboxWhatsAppProvider"/>). Chosen by <c>WhatsApp:Provider</c>.
/// </summary>
public interface IWhatsAppProvider
{
    /// <summary>Sends one message body (Meta's <c>/messages</c> shape) from an account's number.</summary>
    Task<SendResult> SendAsync(ProviderAccount account, JsonElement payload, CancellationToken cancellationToken = default);

    /// <summary>The account's templates as Meta lists them.</summary>
    Task<TemplateListResult> ListTemplatesAsync(ProviderAccount account, CancellationToken cancellationToken = default);

    /// <summary>Whether the token opens the phone number (checked when an account is added).</summary>
    Task<SendResult> CheckAccountAsync(ProviderAccount account, CancellationToken cancellationToken = default);

    /// <summary>
    /// The messaging-limit tier of the number's business portfolio (Meta's <c>whatsapp_business_manager_messaging_limit</c>)
    /// and the cap it sets on unique out-of-window recipients per rolling 24 hours (<see cref="MessagingTiers.CapOf"/>).
    /// </summary>
    Task<MessagingLimitResult> GetMessagingLimitAsync(ProviderAccount account, CancellationToken cancellationToken = default);
}

/// <summary>What a provider needs to know about the sending account; the token only in memory, for the call.</summary>
public sealed record ProviderAccount(string WorkspaceId, string AccountId, string PhoneNumberId, string WabaId, string? AccessToken)
{
    public override string ToString() => $"{AccountId} ({PhoneNumberId})";
}

/// <summary>Meta's answer: a wamid, or an error with Meta's code (0 when there was no Meta error body).</summary>
public sealed record SendResult(string? Wamid, ProviderError? Error)
{
    public static SendResult Ok(string wamid) => new(wamid, null);

    public static SendResult Failed(ProviderError error) => new(null, error);
}

/// <summary>
/// A failed provider call: Meta's error <paramref name="Code"/> and title when it sent one, the HTTP status
/// (0 for a timeout or a connection failure) and the Retry-After it asked for.
/// </summary>
public sealed record ProviderError(int Code, string Title, int HttpStatus, TimeSpan? RetryAfter);

/// <summary>
/// The portfolio's messaging-limit <paramref name="Tier"/> as Meta names it and its <paramref name="Cap"/> (null: no
/// cap, for <c>TIER_UNLIMITED</c> or a tier we do not know), or why it could not be read.
/// </summary>
public sealed record MessagingLimitResult(string? Tier, int? Cap, ProviderError? Error);

/// <summary>Templates, or why they could not be listed.</summary>
public sealed record TemplateListResult(IReadOnlyList<ProviderTemplate>? Templates, ProviderError? Error);

/// <summary>One template as Meta lists it; <paramref name="ParameterFormat"/> is Meta's <c>parameter_format</c> (absent: positional).</summary>
public sealed record ProviderTemplate(string Id, string Name, string Language, string Category, string Status, string ComponentsJson, string? ParameterFormat = null);
