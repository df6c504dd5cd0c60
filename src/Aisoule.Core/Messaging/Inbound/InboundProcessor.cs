using System.Globalization;
using System.Text.Json;
using Aisoule.Core.Accounts;
using Aisoule.Core.Contacts;
using Aisoule.Core.Messaging.Messages;
using Aisoule.Core.Results;
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
            var profiles = value.TryGetProperty("contacts", out var entries) && entries.ValueKind == JsonValueKind.Array
                ? entries.EnumerateArray().Select(SenderProfile.From).ToList()
                : [];
            foreach (var message in inbound.EnumerateArray())
            {
                await InboundMessageAsync(owner, message, profiles, cancellationToken).ConfigureAwait(false);
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

    private async Task InboundMessageAsync(PhoneNumberEntity owner, JsonElement message, List<SenderProfile> profiles, CancellationToken cancellationToken)
    {
        if (MetaJson.Text(message, "type") == "system")
        {
            await SystemMessageAsync(owner, message, cancellationToken).ConfigureAwait(false);
            return;
        }

        // Meta sends the BSUID always and the phone only when it may (a username user's is withheld): the contact is
        // found by either, and linked when both come.
        var wamid = MetaJson.Text(message, "id");
        var from = MetaJson.Text(message, "from");
        var fromUserId = UserId(message, "from_user_id");
        var profile = profiles.FirstOrDefault(p => fromUserId is not null && p.UserId == fromUserId)
            ?? profiles.FirstOrDefault(p => from.Length > 0 && p.WaId == from)
            ?? (profiles.Count == 1 && (fromUserId is null || profiles[0].UserId is null) ? profiles[0] : null);
        var phone = Phone(from.Length > 0 ? from : profile?.WaId);
        var userId = fromUserId ?? profile?.UserId;
        if (wamid.Length == 0 || MessageKeys.StatusEvent(wamid, "incoming").Length > StoredSize.MaxKeyChars || (phone is null && userId is null))
        {
            logger.InboundIgnored("a message without a usable id or sender");
            return;
        }

        var at = Timestamp(message);
        var profileName = ContactLimits.CutName(profile?.Name);
        var username = ContactLimits.CutUsername(profile?.Username);
        var sender = new WhatsAppUser(phone, userId, UserId(message, "from_parent_user_id") ?? profile?.ParentUserId, username, profileName);
        var contact = await contacts.UpsertWhatsAppUserAsync(owner.WorkspaceId, sender, cancellationToken).ConfigureAwait(false);
        if (!contact.Succeeded)
        {
            throw new InvalidOperationException($"Contact for an inbound message could not be saved: {contact.Error!.Message}");
        }

        // Every field is cut to what storage holds, so the insert below cannot fail for size: whatever Meta sends is
        // stored (a longer text cut at a whole character and flagged), and the window opens only after it is.
        var type = StoredSize.Cut(MetaJson.Text(message, "type"), MaxTypeChars);
        var text = type == "text" && message.TryGetProperty("text", out var t) ? MetaJson.Text(t, "body") : null;
        var inbound = new InboundMessage(owner.WorkspaceId, wamid, phone, userId, username, profileName ?? contact.Value!.Name, contact.Value!.Id, type, text, owner.AccountId, at);
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
            var code = error.ValueKind == JsonValueKind.Object && error.TryGetProperty("code", out var c) ? Code(c) : 0;
            var title = error.ValueKind == JsonValueKind.Object ? MetaJson.Text(error, "title") : "";
            if (await lifecycle.NoteWamidAsync(found.WorkspaceId, found.MessageId, wamid, cancellationToken).ConfigureAwait(false) is { } message)
            {
                await policy.ApplyAsync(message, new ProviderError(code, title.Length > 0 ? title : "Failed", 200, null), ErrorSource.Webhook, cancellationToken).ConfigureAwait(false);
            }

            return;
        }

        await lifecycle.ApplyStatusAsync(found.WorkspaceId, found.MessageId, wamid, name, at, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Meta's notice that a user's BSUID changed (<c>user_changed_number</c>: a new phone may come in
    /// <c>system.wa_id</c>; <c>user_changed_user_id</c>: only the id). The contact is re-keyed from
    /// <c>system.previous_user_id</c> to <c>system.user_id</c> (or, in the older shape without BSUIDs, from the phone in
    /// <c>from</c> to <c>system.wa_id</c>); the notice itself is not a message the user wrote, so
    /// it is not stored and opens no window.
    /// </summary>
    private async Task SystemMessageAsync(PhoneNumberEntity owner, JsonElement message, CancellationToken cancellationToken)
    {
        var system = message.TryGetProperty("system", out var s) ? s : default;
        var kind = MetaJson.Text(system, "type");
        var (previous, next) = (UserId(system, "previous_user_id"), UserId(system, "user_id"));
        if (kind == "user_changed_number" && previous is null
            && Phone(MetaJson.Text(message, "from")) is { } oldPhone && Phone(MetaJson.Text(system, "wa_id")) is { } newPhone)
        {
            // The shape before BSUIDs: `from` is the old phone, `system.wa_id` the new one.
            if (!(await contacts.MoveWhatsAppPhoneAsync(owner.WorkspaceId, oldPhone, newPhone, cancellationToken).ConfigureAwait(false)).Succeeded)
            {
                logger.InboundIgnored("a number change for a phone this workspace has no contact for, or whose new phone another contact holds");
            }

            return;
        }

        if (kind is not ("user_changed_number" or "user_changed_user_id") || previous is null || next is null)
        {
            logger.InboundIgnored("a system message that names no user id change");
            return;
        }

        var newUser = new WhatsAppUser(Phone(MetaJson.Text(system, "wa_id")), next, UserId(system, "parent_user_id"));
        var moved = await contacts.MoveWhatsAppUserAsync(owner.WorkspaceId, previous, newUser, cancellationToken).ConfigureAwait(false);
        if (!moved.Succeeded && moved.Error!.Is(ErrorCodes.NotFound) && kind == "user_changed_number" && Phone(MetaJson.Text(message, "from")) is { } fromPhone)
        {
            // No contact has the previous id yet: one known only by its phone (imported, or sent to, before BSUIDs
            // came) moves by that phone to the new one, and takes the new id.
            var movedByPhone = newUser.Phone is { } changedTo && changedTo != fromPhone
                ? (await contacts.MoveWhatsAppPhoneAsync(owner.WorkspaceId, fromPhone, changedTo, cancellationToken).ConfigureAwait(false)).Succeeded
                : await contacts.FindByPhoneAsync(owner.WorkspaceId, fromPhone, cancellationToken).ConfigureAwait(false) is not null;
            moved = movedByPhone
                ? await contacts.UpsertWhatsAppUserAsync(owner.WorkspaceId, newUser with { Phone = newUser.Phone ?? fromPhone }, cancellationToken).ConfigureAwait(false)
                : moved;
        }

        if (!moved.Succeeded)
        {
            logger.InboundIgnored("a user id change for a user this workspace has no contact for, or whose new id another contact holds");
        }
    }

    /// <summary>A Meta phone (<c>wa_id</c>, <c>from</c>: digits without the <c>+</c>) in E.164, or null when absent or unreadable.</summary>
    private static string? Phone(string? waId) => string.IsNullOrEmpty(waId) ? null : E164.Normalise("+" + waId);

    /// <summary>A BSUID property, or null when absent or not one (never read as a phone).</summary>
    private static string? UserId(JsonElement element, string property) =>
        MetaJson.Text(element, property) is var id && WhatsAppUserId.IsValid(id) ? id : null;

    /// <summary>An error code as Meta sends it (an integer) or as some samples show it (a string of digits).</summary>
    private static int Code(JsonElement code) =>
        code.ValueKind == JsonValueKind.Number && code.TryGetInt32(out var n) ? n
        : code.ValueKind == JsonValueKind.String && int.TryParse(code.GetString(), NumberStyles.None, CultureInfo.InvariantCulture, out var parsed) ? parsed
        : 0;

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

    /// <summary>One <c>contacts[]</c> entry of a messages webhook: who sent, as far as Meta shows it.</summary>
    private sealed record SenderProfile(string? WaId, string? UserId, string? ParentUserId, string? Name, string? Username)
    {
        public static SenderProfile From(JsonElement entry)
        {
            var profile = entry.ValueKind == JsonValueKind.Object && entry.TryGetProperty("profile", out var p) ? p : default;
            return new(Empty(MetaJson.Text(entry, "wa_id")), InboundProcessor.UserId(entry, "user_id"), InboundProcessor.UserId(entry, "parent_user_id"), Empty(MetaJson.Text(profile, "name")), Empty(MetaJson.Text(profile, "username")));
        }

        private static string? Empty(string text) => text.Length == 0 ? null : text;
    }

    // Meta's message types are short words ("text", "image", "interactive", …); anything longer is cut.
    private const int MaxTypeChars = 64;
}
