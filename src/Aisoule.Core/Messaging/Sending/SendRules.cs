using System.Text.Json;
using Aisoule.Core.Accounts;
using Aisoule.Core.Contacts;
using Aisoule.Core.Messaging.Messages;
using Aisoule.Core.Results;
using Aisoule.Core.Storage;
using Aisoule.Core.Templates;
using Aisoule.Core.WhatsApp;

namespace Aisoule.Core.Messaging.Sending;

/// <summary>
/// Whether a message may be sent, decided at request time (spec §5): the account must be connected, a template must
/// be approved, a marketing template never goes to a contact who opted out, and free-form messages only go inside
/// the contact's 24-hour customer-service window. A template's values must fit its parameters (named or positional). A send and (later) each recipient of a campaign ask the same rules.
/// </summary>
public sealed class SendRules(ContactService contacts, WhatsAppAccountService accounts, TemplateService templates, TimeProvider clock)
{
    public static readonly TimeSpan ServiceWindow = TimeSpan.FromHours(24);

    /// <summary>
    /// The account and contact a send goes through, or the refusal. A template to a number with no contact yet creates
    /// the contact (a template may open a conversation); nothing else is written.
    /// </summary>
    public async Task<Outcome<SendTarget>> CheckAsync(string workspaceId, SendDraft draft, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(draft);
        var account = await accounts.ResolveAsync(workspaceId, draft.AccountId, cancellationToken).ConfigureAwait(false);
        if (!account.Succeeded)
        {
            return account.Error!;
        }

        if (account.Value!.Status != AccountStatus.Connected)
        {
            return new ApiError(ErrorCodes.AccountDisconnected, "Account disconnected");
        }

        var now = clock.GetUtcNow();

        // Who: by phone, by contact id or by WhatsApp user id; the rules below (opt-out, window) are the contact's.
        ContactEntity? contact;
        if (draft.ContactId is { } contactId)
        {
            contact = await contacts.FindByIdAsync(workspaceId, contactId, cancellationToken).ConfigureAwait(false);
            if (contact is null)
            {
                return new ApiError(ErrorCodes.ContactNotFound, "No contact with this contact_id.")
                {
                    Errors = new Dictionary<string, string[]> { ["contact_id"] = ["No contact with this id in the workspace."] },
                };
            }
        }
        else if (draft.UserId is { } userId)
        {
            contact = await contacts.FindByWhatsAppUserIdAsync(workspaceId, userId, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            contact = await contacts.FindByPhoneAsync(workspaceId, draft.To!, cancellationToken).ConfigureAwait(false);
        }

        if (draft.IsTemplate)
        {
            // CheckTemplateAsync's two halves, with who it goes to between them: an opted-out or phone-less contact is
            // named before values that do not fit.
            var found = await FindApprovedAsync(workspaceId, account.Value, draft.Template!.Name, draft.Template.Language, cancellationToken).ConfigureAwait(false);
            if (!found.Succeeded)
            {
                return found.Error!;
            }

            var template = found.Value!;
            if (template.IsMarketing && contact is { OptedIn: false })
            {
                return new ApiError(ErrorCodes.ContactOptedOut, "This contact has opted out of marketing messages.");
            }

            if (template.IsAuthentication && (contact?.PhoneNumber ?? draft.To) is null)
            {
                return new ApiError(ErrorCodes.RecipientNeedsPhone, "Authentication templates are delivered to a phone number only, and this contact has none (WhatsApp refuses them for a user_id: 131062).");
            }

            if (ParametersMismatch(template, draft.Template.Components) is { } mismatch)
            {
                return mismatch;
            }

            if (contact is null)
            {
                var ensured = draft.UserId is { } newUser
                    ? await contacts.UpsertWhatsAppUserAsync(workspaceId, new WhatsAppUser(null, newUser), cancellationToken).ConfigureAwait(false)
                    : await contacts.EnsureAsync(workspaceId, draft.To!, null, cancellationToken).ConfigureAwait(false);
                if (!ensured.Succeeded)
                {
                    return ensured.Error!;
                }

                contact = ensured.Value!;
            }
        }
        else if (contact?.LastInboundAt is not { } lastInbound || now - lastInbound > ServiceWindow)
        {
            return new ApiError(ErrorCodes.OutsideServiceWindow, "Outside service window");
        }

        // The phone when it is known (Meta's advice), else the user id; a contact has at least one of them.
        return new SendTarget(account.Value, contact, new Recipient(contact.PhoneNumber, contact.PhoneNumber is null ? contact.WaUserId : null));
    }

    /// <summary>
    /// The template a send or a campaign names, or the refusal: <c>template_not_approved</c> when the account has no
    /// approved template of this name in this language (the language is part of the key), or
    /// <c>template_parameters_mismatch</c> when <paramref name="components"/> do not fit its named or positional
    /// parameters. Nothing is written; who it goes to is not looked at. A send asks the same two questions.
    /// </summary>
    public async Task<Outcome<TemplateEntity>> CheckTemplateAsync(string workspaceId, WhatsAppAccountEntity account, string name, string language, JsonElement? components, CancellationToken cancellationToken = default)
    {
        var found = await FindApprovedAsync(workspaceId, account, name, language, cancellationToken).ConfigureAwait(false);
        if (!found.Succeeded)
        {
            return found.Error!;
        }

        return ParametersMismatch(found.Value!, components) is { } mismatch ? mismatch : found.Value!;
    }

    private async Task<Outcome<TemplateEntity>> FindApprovedAsync(string workspaceId, WhatsAppAccountEntity account, string name, string language, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(account);
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(language);

        // A name too long for a template's row key (a 512-character name, escaped) was never stored by a sync, and
        // Azure may answer a read with an over-long key with a 400 rather than "not found": don't ask.
        var template = TemplateEntity.KeyOf(account.RowKey, name, language).Length > StoredSize.MaxKeyChars
            ? null
            : await templates.FindAsync(workspaceId, account.RowKey, name, language, cancellationToken).ConfigureAwait(false);
        return template is { IsApproved: true } ? template : new ApiError(ErrorCodes.TemplateNotApproved, "Template not approved");
    }

    // Meta would refuse these later (#100, 132000); a row synced before parameter_format was kept is not checked.
    private static ApiError? ParametersMismatch(TemplateEntity template, JsonElement? components) =>
        template.ParameterFormat is not null && TemplateParameters.Problems(template.Format, template.DeclaredParameters, components) is { Count: > 0 } problems
            ? new ApiError(ErrorCodes.TemplateParametersMismatch, $"The values do not fit the {template.Format} parameters of template {template.Name}: {string.Join("; ", problems)}.")
            {
                Errors = new Dictionary<string, string[]> { ["template.components"] = [.. problems] },
            }
            : null;

    /// <summary>The 400 naming the field whose stored payload would not fit one Table Storage property, if any.</summary>
    public static ApiError? PayloadTooLarge(string workspaceId, SendDraft draft)
    {
        ArgumentNullException.ThrowIfNull(draft);
        if (MetaPayload.Build(workspaceId, MessageKeys.NewId(DateTimeOffset.UnixEpoch), draft, Recipient.Longest).Length <= StoredSize.MaxStringChars)
        {
            return null;
        }

        return ApiError.Validation(draft.IsTemplate ? "template.components" : draft.Type, "Too large to store with the rest of the message. See the limits in the README.");
    }
}

/// <summary>Who a send goes to and through which account, once <see cref="SendRules"/> allowed it.</summary>
public sealed record SendTarget(WhatsAppAccountEntity Account, ContactEntity Contact, Recipient Recipient);
