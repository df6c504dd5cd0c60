using Aisoule.Core.Contacts;
using Aisoule.Core.Results;

namespace Aisoule.Functions.Contacts;

/// <summary>From a validated request to a draft with its phone number in E.164, or the 400 that says why not.</summary>
internal static class ContactDrafts
{
    public static Outcome<ContactDraft> From(ContactRequest request, IReadOnlySet<string> present, bool creating)
    {
        if ((creating || present.Contains("phone_number")) && request.PhoneNumber is null)
        {
            return ApiError.Validation("phone_number", "Required.");
        }

        string? e164 = null;
        if (request.PhoneNumber is not null && (e164 = E164.Normalise(request.PhoneNumber)) is null)
        {
            return ApiError.InvalidPhoneNumber("phone_number");
        }

        return new ContactDraft
        {
            PhoneNumber = e164,
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
