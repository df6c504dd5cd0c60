using Aisoule.Core.Contacts;
using Aisoule.Core.Results;

namespace Aisoule.Functions.Contacts;

/// <summary>From a validated request to a draft with its phone number in E.164 (or none, when a WhatsApp user id is given), or the 400 that says why not.</summary>
internal static class ContactDrafts
{
    public static Outcome<ContactDraft> From(ContactRequest request, IReadOnlySet<string> present, bool creating)
    {
        // A contact needs a phone or a WhatsApp user id; an update that would leave it neither is refused in Core.
        if (creating && request.PhoneNumber is null && request.WaUserId is null)
        {
            return ContactService.NoIdentity();
        }

        string? e164 = null;
        if (request.PhoneNumber is not null && (e164 = E164.Normalise(request.PhoneNumber)) is null)
        {
            return ApiError.InvalidPhoneNumber("phone_number");
        }

        return new ContactDraft
        {
            PhoneNumber = e164,
            WaUserId = request.WaUserId,
            WaParentUserId = request.WaParentUserId,
            Username = request.Username,
            Name = request.Name,
            Email = request.Email,
            Tags = request.Tags,
            Stage = request.Stage,
            CustomFields = request.CustomFields,
            OptedIn = request.OptedIn,
            Present = present,
        };
    }
}
