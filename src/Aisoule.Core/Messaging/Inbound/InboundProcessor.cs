using System.Globalization;
using System.Text.Json;
using Aisoule.Core.Accounts;
using Aisoule.Core.Contacts;
using Aisoule.Core.Messaging.Messages;
using Aisoule.Core.Storage;
using Aisoule.Core.WhatsApp;
using Microsoft.Extensions.Logging;

namespace Aisoule.Core.Messaging.Inbound;

/// <summary>
/// Applies one webhook change from the inbound queue. Inbound messages upsert the contact, open its 24-hour window
/// and are stored once (an atomic insert keyed on their wamid). Statuses move a message forward only, each
/// (wamid, status) applied once (an atomic insert of its event row in the same transaction as the change). The
/// writes are <see cref="MessageLifecycle"/> transitions; a <c>failed</c> status goes to <see cref="DeliveryPolicy"/>.
/// </summary>
public sealed class InboundProcessor(
    WhatsAppAccountService accounts,
    ContactService contacts,
    MessageStore store,
    MessageLifecycle lifecycle,
    DeliveryPolicy policy,
    TimeProvider clock,
    ILogger<InboundProcessor> logger)
{
    public async Task ProcessAsync(string changeJson, CancellationToken cancellationToken = default)
    {
        JsonElement value;
        try
        {
            value = JsonDocument.Parse(changeJson).RootElement;
        }
        catch (JsonException)
        {
            logger.InboundIgnored("not JSON");
            return;
        }

        var phoneNumberId = value.TryGetProperty("metadata", out var metadata) ? MetaJson.Text(metadata, "phone_number_id") : "";
        var owner = await accounts.FindByPhoneNumberIdAsync(phoneNumberId, cancellationToken).ConfigureAwait(false);
        if (owner is null)
        {
            logger.UnknownPhoneNumberId(phoneNumberId);
            return;
        }

        if (value.TryGetProperty("messages", out var inbound) && inbound.ValueKind == JsonValueKind.Array)
        {
            var names = new Dictionary<string, string>(StringComparer.Ordinal);
            if (value.TryGetProperty("contacts", out var profiles) && profiles.ValueKind == JsonValueKind.Array)
            {
                foreach (var p in profiles.EnumerateArray())
                {
                    if (p.TryGetProperty("profile", out var profile) && MetaJson.Text(profile, "name") is { Length: > 0 } name)
                    {
                        names[MetaJson.Text(p, "wa_id")] = name;
                    }
                }
            }

            foreach (var message in inbound.EnumerateArray())
            {
                await InboundMessageAsync(owner, message, names, cancellationToken).ConfigureAwait(false);
            }
        }

        if (value.TryGetProperty("statuses", out var statuses) && statuses.ValueKind == JsonValueKind.Array)
        {
            foreach (var status in statuses.EnumerateArray())
            {
                await StatusAsync(owner, status, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private async Task InboundMessageAsync(PhoneNumberEntity owner, JsonElement message, Dictionary<string, string> names, CancellationToken cancellationToken)
    {
        var wamid = MetaJson.Text(message, "id");
        var from = MetaJson.Text(message, "from");
        if (wamid.Length == 0 || MessageKeys.StatusEvent(wamid, "incoming").Length > StoredSize.MaxKeyChars || E164.Normalise("+" + from) is not { } phone)
        {
            logger.InboundIgnored("a message without a usable id or sender");
            return;
        }

        var at = Timestamp(message);
        names.TryGetValue(from, out var profileName);
        profileName = ContactLimits.CutName(profileName);
        var contact = await contacts.EnsureAsync(owner.WorkspaceId, phone, profileName, cancellationToken).ConfigureAwait(false);
        if (!contact.Succeeded)
        {
            throw new InvalidOperationException($"Contact for an inbound message could not be saved: {contact.Error!.Message}");
        }

        // Every field is cut to what storage holds, so the insert below cannot fail for size: whatever Meta sends is
        // stored (a longer text cut at a whole character and flagged), and the window opens only after it is.
        var type = StoredSize.Cut(MetaJson.Text(message, "type"), MaxTypeChars);
        var text = type == "text" && message.TryGetProperty("text", out var t) ? MetaJson.Text(t, "body") : null;
        var inbound = new InboundMessage(owner.WorkspaceId, wamid, phone, profileName ?? contact.Value!.Name, contact.Value!.Id, type, text, owner.AccountId, at);
        if (!await lifecycle.RecordInboundAsync(inbound, cancellationToken).ConfigureAwait(false))
        {
            // Stored by an earlier delivery, which may have stopped before the window moved: move it now (idempotent).
            logger.InboundDuplicate(wamid);
        }

        await contacts.ChangeAsync(owner.WorkspaceId, contact.Value.Id, c =>
        {
            if (c.LastInboundAt is { } last && last >= at)
            {
                return false;
            }

            c.LastInboundAt = at;
            return true;
        }, cancellationToken).ConfigureAwait(false);
    }

    private async Task StatusAsync(PhoneNumberEntity owner, JsonElement status, CancellationToken cancellationToken)
    {
        var wamid = MetaJson.Text(status, "id");
        var name = MetaJson.Text(status, "status");
        if (wamid.Length == 0 || !(MessageStatus.Rank(name) >= MessageStatus.Rank(MessageStatus.Sent) || name == MessageStatus.Failed))
        {
            return;
        }

        var target = await FindMessageAsync(owner, wamid, MetaJson.Text(status, "biz_opaque_callback_data"), cancellationToken).ConfigureAwait(false);
        if (target is not { } found)
        {
            logger.StatusForUnknown(name, wamid);
            return;
        }

        var at = Timestamp(status);
        if (name == MessageStatus.Failed)
        {
            var error = status.TryGetProperty("errors", out var errors) && errors.ValueKind == JsonValueKind.Array && errors.GetArrayLength() > 0 ? errors[0] : default;
            var code = error.ValueKind == JsonValueKind.Object && error.TryGetProperty("code", out var c) && c.TryGetInt32(out var n) ? n : 0;
            var title = error.ValueKind == JsonValueKind.Object ? MetaJson.Text(error, "title") : "";
            if (await lifecycle.NoteWamidAsync(found.WorkspaceId, found.MessageId, wamid, cancellationToken).ConfigureAwait(false) is { } message)
            {
                await policy.ApplyAsync(message, new ProviderError(code, title.Length > 0 ? title : "Failed", 200, null), ErrorSource.Webhook, cancellationToken).ConfigureAwait(false);
            }

            return;
        }

        await lifecycle.ApplyStatusAsync(found.WorkspaceId, found.MessageId, wamid, name, at, cancellationToken).ConfigureAwait(false);
    }

    private async Task<(string WorkspaceId, string MessageId)?> FindMessageAsync(PhoneNumberEntity owner, string wamid, string callback, CancellationToken cancellationToken)
    {
        // Our own ids come back in biz_opaque_callback_data, even before we have recorded the wamid.
        if (MetaPayload.ParseCallback(callback) is { } ours && ours.WorkspaceId == owner.WorkspaceId)
        {
            return ours;
        }

        return await store.FindByWamidAsync(wamid, cancellationToken).ConfigureAwait(false) is { } pointer && pointer.WorkspaceId == owner.WorkspaceId ? pointer : null;
    }

    private DateTimeOffset Timestamp(JsonElement element) =>
        long.TryParse(MetaJson.Text(element, "timestamp"), NumberStyles.None, CultureInfo.InvariantCulture, out var seconds) && seconds is > 0 and < 100_000_000_000
            ? DateTimeOffset.FromUnixTimeSeconds(seconds)
            : clock.GetUtcNow();

    // Meta's message types are short words ("text", "image", "interactive", …); anything longer is cut.
    private const int MaxTypeChars = 64;
}
