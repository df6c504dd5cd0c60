using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Aisoule.Core.Messaging.Inbound;
using Aisoule.Core.Results;
using Aisoule.Core.WhatsApp;
using Aisoule.Functions.Http;
using Aisoule.Functions.Pipeline;
using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Options;

namespace Aisoule.Functions.WhatsApp;

/// <summary>
/// Meta's webhook (spec §5): the subscribe handshake, and signed event bodies, which are checked over their raw
/// bytes, put on the inbound queue and answered at once; <see cref="InboundProcessor"/> applies them.
/// </summary>
public sealed class WhatsAppWebhookFunctions(InboundChanges inbound, IOptionsMonitor<WhatsAppOptions> options)
{
    [Function(nameof(VerifyWhatsAppWebhook))]
    [Access(Credentials.None)]
    public IResult VerifyWhatsAppWebhook(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "whatsapp/webhook")] HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var expected = UnresolvedReference.SecretOrNull(options.CurrentValue.VerifyToken);
        var mode = request.Query["hub.mode"].ToString();
        var token = request.Query["hub.verify_token"].ToString();
        var challenge = request.Query["hub.challenge"].ToString();
        if (mode != "subscribe" || string.IsNullOrEmpty(expected)
            || !CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(token), Encoding.UTF8.GetBytes(expected)))
        {
            return ApiResult.Failure(new ApiError(ErrorCodes.VerificationFailed, "The verify token does not match."));
        }

        // Meta wants the challenge back as it sent it, not in an envelope.
        return Results.Text(challenge, "text/plain", Encoding.UTF8);
    }

    [Function(nameof(ReceiveWhatsAppWebhook))]
    [Access(Credentials.None)]
    public async Task<IResult> ReceiveWhatsAppWebhook(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "whatsapp/webhook")] HttpRequest request,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var raw = await RequestBody.ReadRawAsync(request, cancellationToken).ConfigureAwait(false);
        if (!WebhookSignature.IsValid(raw, request.Headers["X-Hub-Signature-256"].ToString(), options.CurrentValue.AppSecret))
        {
            return ApiResult.Failure(new ApiError(ErrorCodes.InvalidSignature, "X-Hub-Signature-256 is missing or does not match the body."));
        }

        JsonElement body;
        try
        {
            using var document = JsonDocument.Parse(raw);
            body = document.RootElement.Clone();
        }
        catch (JsonException)
        {
            return ApiResult.Failure(ApiError.InvalidJson("The webhook body is not JSON."));
        }

        var queued = await inbound.EnqueueWebhookAsync(body, cancellationToken).ConfigureAwait(false);
        return queued.Succeeded ? ApiResult.Ok(new { Received = queued.Value }) : ApiResult.Failure(queued.Error!);
    }
}
