
namespace Aisoule.Core.WhatsApp;

/// <summary>What a provider error means for the message (spec §5: Meta's code decides, not the HTTP status).</summary>
public enum ErrorDisposition
{
    /// <summary>Throughput, 429/5xx, timeouts: try again later with back-off.</summary>
    Retry,

    /// <summary>131056: too many messages to this recipient; delay only this one.</summary>
    PairLimit,

    /// <summary>Fails at once with Meta's code and title.</summary>
    Permanent,

    /// <summary>131050: fails, and the contact is marked opted out.</summary>
    OptedOut,

    /// <summary>190, 131031, 368: the account is disconnected and its sends wait.</summary>
    AccountLevel,
}

/// <summary>Meta's error codes, mapped.</summary>
public static class MetaErrors
{
    private static readonly HashSet<int> Throughput = [130429, 4, 80007, 131057];
    // 131062: a BSUID recipient cannot take this message (an authentication template, a bid_spec marketing one);
    // 131063: marketing templates are disabled on the Cloud API for this WABA. Sending again changes neither.
    private static readonly HashSet<int> Permanent = [131026, 131047, 132000, 132001, 132015, 132016, 131049, 131051, 131062, 131063];
    private static readonly HashSet<int> AccountLevel = [190, 131031, 368];

    public const int PairLimit = 131056;
    public const int UserStoppedMarketing = 131050;

    public static ErrorDisposition Classify(ProviderError error)
    {
        ArgumentNullException.ThrowIfNull(error);
        return error.Code switch
        {
            PairLimit => ErrorDisposition.PairLimit,
            UserStoppedMarketing => ErrorDisposition.OptedOut,
            var c when AccountLevel.Contains(c) => ErrorDisposition.AccountLevel,
            var c when Throughput.Contains(c) => ErrorDisposition.Retry,
            var c when Permanent.Contains(c) => ErrorDisposition.Permanent,

            // No Meta code we know: the HTTP status decides. 429, 5xx and no answer at all are worth retrying;
            // any other 4xx is a request Meta will refuse again.
            _ when error.HttpStatus is 0 or 408 or 429 or >= 500 => ErrorDisposition.Retry,
            _ => ErrorDisposition.Permanent,
        };
    }
}
