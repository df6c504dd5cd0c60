using System.Globalization;
using System.Net;
using Aisoule.Core.Contacts;
using Aisoule.Core.Results;
using Aisoule.Core.Storage;
using Aisoule.Tests.Infrastructure;
using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;

namespace Aisoule.Tests.OpenApi;

/// <summary>
/// Contacts, WhatsApp accounts and templates. They run in a workspace of their own (so the contacts, accounts and
/// templates they make never change what the other areas' cases see), by key for contacts and templates and by its
/// owner's session for the account writes.
/// </summary>
internal static partial class ContractCases
{
    private static async Task SetUpContactsAsync(ContractWorld world)
    {
        var owner = await Infrastructure.Identity.SignUpAsync(world.Main);
        world.Ids["contacts_key"] = await owner.CreateKeyAsync("contacts area");
        world.Ids["contacts_workspace"] = owner.WorkspaceId;
        world.Ids["contacts_cookie"] = owner.Cookie;
        world.Ids["contacts_csrf"] = owner.CsrfToken;
    }

    private static IEnumerable<ContractCase> Contacts()
    {
        // What only Meta's answers produce, on the cloud host: a token the Graph fake refuses (401, code 190).
        yield return new("AddAccount", 422, ErrorCodes.AccountCheckFailed, w => Done(Session(HttpMethod.Post, "/api/accounts", w.CloudSender.Owner.Cookie, w.CloudSender.Owner.CsrfToken, Json(new
        {
            name = "Refused",
            phone_number_id = Random.Shared.NextInt64(100_000_000_000, 999_999_999_999).ToString(System.Globalization.CultureInfo.InvariantCulture),
            waba_id = "102290129340398",
            access_token = "EAAG-refused-token-0",
        }))), Target.Cloud);
        yield return new("UpdateAccount", 422, ErrorCodes.AccountCheckFailed, w => Done(Session(HttpMethod.Put, "/api/accounts/" + w.CloudSender.AccountId, w.CloudSender.Owner.Cookie, w.CloudSender.Owner.CsrfToken, Json(new { access_token = "EAAG-refused-token-0" }))), Target.Cloud);
        yield return new("SyncTemplates", 502, ErrorCodes.ProviderError, async w =>
        {
            // An account whose token Meta accepted when it was added and refuses now: its template list answers 401/190.
            const string token = "EAAG-contract-sync-token";
            w.Graph.AcceptedTokens[token] = true;
            using var add = Session(HttpMethod.Post, "/api/accounts", w.CloudSender.Owner.Cookie, w.CloudSender.Owner.CsrfToken, Json(new
            {
                name = "Soon refused",
                phone_number_id = Random.Shared.NextInt64(100_000_000_000, 999_999_999_999).ToString(System.Globalization.CultureInfo.InvariantCulture),
                waba_id = "102290129340398",
                access_token = token,
            }));
            var added = await Envelope.SuccessAsync(await w.Cloud.Client.SendAsync(add), System.Net.HttpStatusCode.Created);
            w.Graph.AcceptedTokens.TryRemove(token, out _);
            return Keyed(HttpMethod.Post, "/api/templates/sync?whatsapp_account_id=" + added.GetProperty("id").GetString(), w.CloudSender.Key, Json("{}"));
        }, Target.Cloud);

        // Contacts.
        yield return new("ListContacts", 200, null, async w =>
        {
            await ContactsArea.NewContactAsync(w, new { phone_number = ContactsArea.NewPhone(), name = "Listed", tags = new[] { "contract" } });
            return ContactsArea.AsContacts(w, HttpMethod.Get, "/api/contacts?tag=contract&per_page=10");
        });
        yield return new("ListContacts", 400, ErrorCodes.ValidationFailed, w => Done(ContactsArea.AsContacts(w, HttpMethod.Get, "/api/contacts?cursor=not-a-cursor-we-gave")));

        yield return new("CreateContact", 201, null, w => Done(ContactsArea.AsContacts(w, HttpMethod.Post, "/api/contacts", Json(new
        {
            phone_number = ContactsArea.NewPhone(),
            name = "John Doe",
            email = "john@shop.example",
            tags = new[] { "customer" },
            stage = "Customer",
            custom_fields = new Dictionary<string, object?> { ["plan"] = "gold", ["visits"] = 3, ["vip"] = true, ["note"] = null },
        }))));
        yield return new("CreateContact", 400, ErrorCodes.InvalidPhoneNumber, w => Done(ContactsArea.AsContacts(w, HttpMethod.Post, "/api/contacts", Json(new { phone_number = "12" }))));
        yield return new("CreateContact", 409, ErrorCodes.ContactExists, async w =>
        {
            var phone = ContactsArea.NewPhone();
            await ContactsArea.NewContactAsync(w, new { phone_number = phone });
            return ContactsArea.AsContacts(w, HttpMethod.Post, "/api/contacts", Json(new { phone_number = phone }));
        });
        yield return new("CreateContact", 503, ErrorCodes.Busy, async w =>
        {
            // A phone pointer row that names no contact: every create of the phone fails on it, and finds no holder
            // to answer 409 with, until the retries run out.
            var phone = ContactsArea.NewPhone();
            var table = await ContactsArea.ContactsTableAsync(w);
            await table.AddEntityAsync(new TableEntity(w.Ids["contacts_workspace"], ContactKeys.Phone(phone)));
            return ContactsArea.AsContacts(w, HttpMethod.Post, "/api/contacts", Json(new { phone_number = phone }));
        });

        yield return new("GetContact", 200, null, async w =>
        {
            var id = await ContactsArea.NewContactAsync(w, new { wa_user_id = ContactsArea.NewUserId(), wa_parent_user_id = "US.ENT.11815799212886844830", username = "@pablomorales" });
            return ContactsArea.AsContacts(w, HttpMethod.Get, "/api/contacts/" + id);
        });
        yield return new("GetContact", 404, ErrorCodes.NotFound, w => Done(ContactsArea.AsContacts(w, HttpMethod.Get, "/api/contacts/" + ContactsArea.NoContact)));

        yield return new("UpdateContact", 200, null, async w =>
        {
            var id = await ContactsArea.NewContactAsync(w, new { phone_number = ContactsArea.NewPhone(), name = "John Doe", stage = "Lead" });
            return ContactsArea.AsContacts(w, HttpMethod.Put, "/api/contacts/" + id, Json(new { name = "John D.", tags = new[] { "customer", "vip" }, stage = (string?)null, opted_in = false }));
        });
        yield return new("UpdateContact", 404, ErrorCodes.NotFound, w => Done(ContactsArea.AsContacts(w, HttpMethod.Put, "/api/contacts/" + ContactsArea.NoContact, Json(new { name = "Nobody" }))));
        yield return new("UpdateContact", 400, ErrorCodes.InvalidPhoneNumber, async w =>
        {
            var id = await ContactsArea.NewContactAsync(w, new { phone_number = ContactsArea.NewPhone() });
            return ContactsArea.AsContacts(w, HttpMethod.Put, "/api/contacts/" + id, Json(new { phone_number = "12" }));
        });
        yield return new("UpdateContact", 409, ErrorCodes.ContactExists, async w =>
        {
            var taken = ContactsArea.NewPhone();
            await ContactsArea.NewContactAsync(w, new { phone_number = taken });
            var id = await ContactsArea.NewContactAsync(w, new { phone_number = ContactsArea.NewPhone() });
            return ContactsArea.AsContacts(w, HttpMethod.Put, "/api/contacts/" + id, Json(new { phone_number = taken }));
        });
        yield return new("UpdateContact", 503, ErrorCodes.Busy, async w =>
        {
            // The contact's phone pointer row is gone: moving the phone deletes it, so every attempt fails, until the
            // retries run out.
            var phone = ContactsArea.NewPhone();
            var id = await ContactsArea.NewContactAsync(w, new { phone_number = phone });
            var table = await ContactsArea.ContactsTableAsync(w);
            await table.DeleteEntityAsync(w.Ids["contacts_workspace"], ContactKeys.Phone(phone));
            return ContactsArea.AsContacts(w, HttpMethod.Put, "/api/contacts/" + id, Json(new { phone_number = ContactsArea.NewPhone() }));
        });

        yield return new("DeleteContact", 200, null, async w =>
        {
            var id = await ContactsArea.NewContactAsync(w, new { phone_number = ContactsArea.NewPhone() });
            return ContactsArea.AsContacts(w, HttpMethod.Delete, "/api/contacts/" + id);
        });
        yield return new("DeleteContact", 404, ErrorCodes.NotFound, w => Done(ContactsArea.AsContacts(w, HttpMethod.Delete, "/api/contacts/" + ContactsArea.NoContact)));
        yield return new("DeleteContact", 503, ErrorCodes.Busy, async w =>
        {
            // The contact's phone pointer row is gone: the delete deletes it too, so every attempt fails.
            var phone = ContactsArea.NewPhone();
            var id = await ContactsArea.NewContactAsync(w, new { phone_number = phone });
            var table = await ContactsArea.ContactsTableAsync(w);
            await table.DeleteEntityAsync(w.Ids["contacts_workspace"], ContactKeys.Phone(phone));
            return ContactsArea.AsContacts(w, HttpMethod.Delete, "/api/contacts/" + id);
        });

        yield return new("BulkUpsertContacts", 200, null, async w =>
        {
            // One new, one known (updated), one by WhatsApp user id, and two that fail alone.
            var known = ContactsArea.NewPhone();
            await ContactsArea.NewContactAsync(w, new { phone_number = known });
            return ContactsArea.AsContacts(w, HttpMethod.Post, "/api/contacts/bulk", Json(new
            {
                contacts = new object[]
                {
                    new { phone_number = ContactsArea.NewPhone(), name = "New", tags = new[] { "vip" } },
                    new { phone_number = known, name = "Known" },
                    new { wa_user_id = ContactsArea.NewUserId(), username = "@bulk" },
                    new { phone_number = "bad" },
                    new { name = "No phone, no user id" },
                },
            }));
        });

        // Accounts: the workspace's own session for the writes (owner), its key for the list.
        yield return new("ListAccounts", 200, null, w => Done(ContactsArea.AsContacts(w, HttpMethod.Get, "/api/accounts")));
        yield return new("AddAccount", 201, null, w => Done(ContactsArea.AsContactsOwner(w, HttpMethod.Post, "/api/accounts", Json(ContactsArea.NewAccount()))));
        yield return new("AddAccount", 409, ErrorCodes.AccountExists, async w =>
        {
            var phoneNumberId = ContactsArea.NewPhoneNumberId();
            await ContactsArea.NewAccountAsync(w, ContactsArea.NewAccount(phoneNumberId));
            return ContactsArea.AsContactsOwner(w, HttpMethod.Post, "/api/accounts", Json(ContactsArea.NewAccount(phoneNumberId, "Again")));
        });
        yield return new("UpdateAccount", 200, null, async w =>
        {
            var id = await ContactsArea.NewAccountAsync(w, ContactsArea.NewAccount());
            return ContactsArea.AsContactsOwner(w, HttpMethod.Put, "/api/accounts/" + id, Json(new { name = "Support", throughput_mps = 40, access_token = "EAAG-contract-new-token" }));
        });
        yield return new("UpdateAccount", 404, ErrorCodes.NotFound, w => Done(ContactsArea.AsContactsOwner(w, HttpMethod.Put, "/api/accounts/" + ContactsArea.NoAccount, Json(new { name = "Nobody" }))));
        yield return new("RemoveAccount", 200, null, async w =>
        {
            var id = await ContactsArea.NewAccountAsync(w, ContactsArea.NewAccount());
            return ContactsArea.AsContactsOwner(w, HttpMethod.Delete, "/api/accounts/" + id);
        });
        yield return new("RemoveAccount", 404, ErrorCodes.NotFound, w => Done(ContactsArea.AsContactsOwner(w, HttpMethod.Delete, "/api/accounts/" + ContactsArea.NoAccount)));

        // Templates.
        yield return new("ListTemplates", 200, null, w => Done(ContactsArea.AsContacts(w, HttpMethod.Get, "/api/templates?whatsapp_account_id=wa_sandbox")));
        yield return new("ListTemplates", 400, ErrorCodes.ValidationFailed, w => Done(ContactsArea.AsContacts(w, HttpMethod.Get, "/api/templates?status=" + new string('A', 21))));
        yield return new("SyncTemplates", 200, null, w => Done(ContactsArea.AsContacts(w, HttpMethod.Post, "/api/templates/sync?whatsapp_account_id=wa_sandbox")));
        yield return new("SyncTemplates", 400, ErrorCodes.ValidationFailed, w => Done(ContactsArea.AsContacts(w, HttpMethod.Post, "/api/templates/sync?whatsapp_account_id=" + ContactsArea.NoAccount)));
    }

    /// <summary>The area's helpers, apart from the other areas' (one partial class).</summary>
    private static class ContactsArea
    {
        public const string NoContact = "ct_000000000000000000000000";
        public const string NoAccount = "wa_00000000000000000000000000000000";

        /// <summary>A Cloud API number (the sandbox host's provider accepts any); not the default, so sends keep theirs.</summary>
        public static object NewAccount(string? phoneNumberId = null, string name = "Support line") =>
            new { name, phone_number_id = phoneNumberId ?? NewPhoneNumberId(), waba_id = "102290129340398", access_token = "EAAG-contract-token", is_default = false };

        public static string NewPhoneNumberId() => Random.Shared.NextInt64(100_000_000_000_000, 999_999_999_999_999).ToString(CultureInfo.InvariantCulture);

        public static string NewPhone() => "+1212" + Random.Shared.Next(2_000_000, 9_999_999).ToString(CultureInfo.InvariantCulture);

        public static string NewUserId() => "US." + Random.Shared.NextInt64(1_000_000_000_000_000, long.MaxValue).ToString(CultureInfo.InvariantCulture);

        /// <summary>With the area workspace's key (every scope).</summary>
        public static HttpRequestMessage AsContacts(ContractWorld w, HttpMethod method, string path, HttpContent? content = null) =>
            Keyed(method, path, w.Ids["contacts_key"], content);

        /// <summary>With the area workspace owner's session and its CSRF token.</summary>
        public static HttpRequestMessage AsContactsOwner(ContractWorld w, HttpMethod method, string path, HttpContent? content = null) =>
            Session(method, path, w.Ids["contacts_cookie"], w.Ids["contacts_csrf"], content);

        public static async Task<string> NewContactAsync(ContractWorld w, object body)
        {
            using var request = AsContacts(w, HttpMethod.Post, "/api/contacts", Json(body));
            using var response = await w.Main.Client.SendAsync(request);
            return (await Envelope.SuccessAsync(response, HttpStatusCode.Created)).GetProperty("id").GetString()!;
        }

        public static async Task<string> NewAccountAsync(ContractWorld w, object body)
        {
            using var request = AsContactsOwner(w, HttpMethod.Post, "/api/accounts", Json(body));
            using var response = await w.Main.Client.SendAsync(request);
            return (await Envelope.SuccessAsync(response, HttpStatusCode.Created)).GetProperty("id").GetString()!;
        }

        public static Task<TableClient> ContactsTableAsync(ContractWorld w) =>
            w.Main.Services.GetRequiredService<StorageAccount>().GetTableAsync(ContactService.Table);
    }
}
