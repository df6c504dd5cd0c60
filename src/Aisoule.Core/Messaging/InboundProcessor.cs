using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Aisoule.Core.Contacts;
using Aisoule.Core.Json;
using Aisoule.Core.Storage;
using Azure.Data.Tables;
using Microsoft.Extensions.Logging;

namespace Aisoule.Core.Messaging;

/// <summary>
/// Applies one webhook change from the inbound queue. Inbound messages upsert the contact, open its 24-hour window
/// and are stored once (an atomic insert keyed on their wamid). Statuses move a message forward only, each
/// (wamid, status) applied once (an atomic insert of its event row in the same transaction as the change).
/// </summary>
public sealed class InboundProcessor(
    StorageAccount storage,
    WhatsAppAccountService accounts,
    ContactService contacts,
    MessageStore store,
    SendDispatcher dispatcher,
    TimeProvider clock,
    ILogger<InboundProcessor> logger)
{
    public async Task ProcessAsync(string changeJson, CancellationToken cancellationToken)
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
        var type = Cut(MetaJson.Text(message, "type"), MaxTypeChars);
        var text = type == "text" && message.TryGetProperty("text", out var t) ? MetaJson.Text(t, "body") : null;
        var storedText = text is null ? null : Cut(text, StoredSize.MaxStringChars);
        var table = await storage.GetTableAsync(MessagingNames.Messages, cancellationToken).ConfigureAwait(false);
        var row = new TableEntity(owner.WorkspaceId, MessageKeys.Inbound(wamid))
        {
            ["Wamid"] = wamid,
            ["From"] = phone,
            ["ContactId"] = contact.Value!.Id,
            ["Type"] = type,
            ["Text"] = storedText,
            ["AccountId"] = owner.AccountId,
            ["ReceivedAt"] = at,
        };
        if (storedText is not null && storedText.Length < text!.Length)
        {
            row["TextTruncated"] = true;
        }

        var evt = new TableEntity(owner.WorkspaceId, MessageKeys.StatusEvent(wamid, "incoming"))
        {
            ["Event"] = "message.incoming",
            ["Data"] = EventData(new IncomingEvent(wamid, phone, profileName ?? contact.Value.Name, type, text, owner.AccountId)),
            ["CreatedAt"] = clock.GetUtcNow(),
        };
        try
        {
            await TableBatch.SubmitAsync(table, [new(TableTransactionActionType.Add, row), new(TableTransactionActionType.Add, evt)], cancellationToken).ConfigureAwait(false);
        }
        catch (TableTransactionFailedException ex) when (ex.Status == 409)
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

    /// <summary>
    /// The event's JSON, at most one string property. The serialiser writes an emoji (a surrogate pair) as two
    /// <c>\uXXXX</c> escapes, 12 characters, so 4,096 emoji — a text Meta can send — would take 49,152; the pairs are
    /// written back as the characters themselves (valid JSON, the same value), 2 characters each, so any text of
    /// 4,096 code points fits whole. Only a longer text (not one Meta sends) is cut, at a whole character, to the
    /// longest that fits, with <c>text_truncated: true</c>.
    /// </summary>
    private static string EventData(IncomingEvent data)
    {
        var json = Serialize(data);
        if (json.Length <= StoredSize.MaxStringChars || data.Text is not { } text)
        {
            return json;
        }

        var (fits, low, high) = (Serialize(data with { Text = "", TextTruncated = true }), 0, text.Length);
        while (low < high)
        {
            var middle = low + ((high - low + 1) / 2);
            var candidate = Serialize(data with { Text = Cut(text, middle), TextTruncated = true });
            if (candidate.Length <= StoredSize.MaxStringChars)
            {
                (fits, low) = (candidate, middle);
            }
            else
            {
                high = middle - 1;
            }
        }

        return fits;
    }

    private static string Serialize(IncomingEvent data) => MetaJson.UnescapedPairs(JsonSerializer.Serialize(data, AisouleJson.Options));

    /// <summary>The first <paramref name="max"/> UTF-16 code units of <paramref name="text"/>, one fewer rather than half an emoji.</summary>
    private static string Cut(string text, int max)
    {
        if (text.Length <= max)
        {
            return text;
        }

        return text[..(max > 0 && char.IsHighSurrogate(text[max - 1]) ? max - 1 : max)];
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
            var (result, message) = await store.ChangeAsync(found.WorkspaceId, found.MessageId, m =>
            {
                m.Wamid ??= wamid;
                return true;
            }, null, null, cancellationToken).ConfigureAwait(false);
            if (message is not null && result != MessageStore.Result.Missing)
            {
                await dispatcher.ApplyErrorAsync(message, new ProviderError(code, title.Length > 0 ? title : "Failed", 200, null), fromWebhook: true, cancellationToken).ConfigureAwait(false);
            }

            return;
        }

        await store.ChangeAsync(found.WorkspaceId, found.MessageId, m =>
        {
            m.Wamid ??= wamid;
            var unknown = m.Status == MessageStatus.Failed && m.ErrorCode == "delivery_unknown";
            if (m.Status == MessageStatus.Failed && !unknown)
            {
                return false;
            }

            m.SentAt ??= at;
            if (name == MessageStatus.Delivered || name == MessageStatus.Read)
            {
                m.DeliveredAt ??= at;
            }

            if (name == MessageStatus.Read)
            {
                m.ReadAt ??= at;
            }

            if (unknown || MessageStatus.Rank(name) > MessageStatus.Rank(m.Status))
            {
                m.Status = name;
                m.ClaimedAt = null;
                (m.ErrorCode, m.ErrorTitle, m.FailedAt) = unknown ? (null, null, null) : (m.ErrorCode, m.ErrorTitle, m.FailedAt);
            }

            return true;
        }, MessageKeys.StatusEvent(wamid, name), "message." + name, cancellationToken).ConfigureAwait(false);
    }

    private async Task<(string WorkspaceId, string MessageId)?> FindMessageAsync(PhoneNumberEntity owner, string wamid, string callback, CancellationToken cancellationToken)
    {
        // Our own ids come back in biz_opaque_callback_data, even before we have recorded the wamid.
        if (MessageService.ParseCallback(callback) is { } ours && ours.WorkspaceId == owner.WorkspaceId)
        {
            return ours;
        }

        var wamids = await storage.GetTableAsync(MessagingNames.Wamids, cancellationToken).ConfigureAwait(false);
        var row = await wamids.GetEntityIfExistsAsync<WamidEntity>(ContactKeys.Encode(wamid), "", cancellationToken: cancellationToken).ConfigureAwait(false);
        return row.HasValue && row.Value!.WorkspaceId == owner.WorkspaceId ? (row.Value.WorkspaceId, row.Value.MessageId) : null;
    }

    private DateTimeOffset Timestamp(JsonElement element) =>
        long.TryParse(MetaJson.Text(element, "timestamp"), NumberStyles.None, CultureInfo.InvariantCulture, out var seconds) && seconds is > 0 and < 100_000_000_000
            ? DateTimeOffset.FromUnixTimeSeconds(seconds)
            : clock.GetUtcNow();


    // Meta's message types are short words ("text", "image", "interactive", …); anything longer is cut.
    private const int MaxTypeChars = 64;

    private sealed record IncomingEvent(
        string MessageId,
        string From,
        string? ContactName,
        string Type,
        string? Text,
        string WhatsappAccountId,
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] bool TextTruncated = false);
}
