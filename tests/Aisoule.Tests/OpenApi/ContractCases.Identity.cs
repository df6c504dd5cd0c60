using System.Net.Http.Json;
using Aisoule.Core.Identity;
using Aisoule.Core.Identity.Entities;
using Aisoule.Core.Results;
using Aisoule.Core.Storage;
using Aisoule.Tests.Infrastructure;
using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;

namespace Aisoule.Tests.OpenApi;

/// <summary>Health, this document, sign-up, login, logout, who am I, and API keys.</summary>
internal static partial class ContractCases
{
    private static async Task SetUpIdentityAsync(ContractWorld world)
    {
        // A user whose row is gone while its session lives on (GET /auth/me: 404).
        var gone = await Infrastructure.Identity.SignUpAsync(world.Main);
        var users = await world.Main.Services.GetRequiredService<StorageAccount>().GetTableAsync(IdentityTables.Workspaces);
        await users.DeleteEntityAsync(gone.WorkspaceId, UserEntity.RowFor(gone.UserId));
        world.Ids["gone_session"] = gone.Cookie;
    }

    private static IEnumerable<ContractCase> Identity()
    {
        var signup = new { email = "", password = "a long local password", name = "Ann", workspace_name = "Shop" };
        yield return new("GetHealth", 200, null, _ => Done(new HttpRequestMessage(HttpMethod.Get, "/api/health")));
        yield return new("GetOpenApiDocument", 200, null, _ => Done(new HttpRequestMessage(HttpMethod.Get, "/api/openapi.json")));
        yield return new("GetApiReference", 200, null, _ => Done(new HttpRequestMessage(HttpMethod.Get, "/api/docs")));
        yield return new("GetApiReferenceAsset", 200, null, _ => Done(new HttpRequestMessage(HttpMethod.Get, "/api/docs/docs.js")));
        yield return new("GetApiReferenceAsset", 404, ErrorCodes.NotFound, _ => Done(new HttpRequestMessage(HttpMethod.Get, "/api/docs/secrets.json")));

        yield return new("SignUp", 201, null, _ => Done(new HttpRequestMessage(HttpMethod.Post, "/api/auth/signup") { Content = Json(signup with { email = Infrastructure.Identity.NewEmail() }) }));
        yield return new("SignUp", 403, ErrorCodes.SignupDisabled, _ => Done(new HttpRequestMessage(HttpMethod.Post, "/api/auth/signup") { Content = Json(signup with { email = Infrastructure.Identity.NewEmail() }) }), Target.Later);
        yield return new("SignUp", 503, ErrorCodes.StorageUnavailable, _ => Done(new HttpRequestMessage(HttpMethod.Post, "/api/auth/signup") { Content = Json(signup with { email = Infrastructure.Identity.NewEmail() }) }), Target.Down);
        yield return new("SignUp", 409, ErrorCodes.EmailTaken, w => Done(new HttpRequestMessage(HttpMethod.Post, "/api/auth/signup") { Content = Json(signup with { email = w.Owner.Email }) }));
        yield return new("SignUp", 429, ErrorCodes.TooManyAttempts, async w =>
        {
            // The limited host allows one sign-up an hour from an address: the first is spent here.
            (await w.Limited.Client.PostAsJsonAsync("/api/auth/signup", signup with { email = Infrastructure.Identity.NewEmail() })).Dispose();
            return new HttpRequestMessage(HttpMethod.Post, "/api/auth/signup") { Content = Json(signup with { email = Infrastructure.Identity.NewEmail() }) };
        }, Target.Limited);

        yield return new("Login", 200, null, w => Done(new HttpRequestMessage(HttpMethod.Post, "/api/auth/login") { Content = Json(new { email = w.Owner.Email, password = w.Owner.Password }) }));
        yield return new("Login", 503, ErrorCodes.StorageUnavailable, w => Done(new HttpRequestMessage(HttpMethod.Post, "/api/auth/login") { Content = Json(new { email = w.Owner.Email, password = w.Owner.Password }) }), Target.Down);
        yield return new("Login", 401, ErrorCodes.InvalidCredentials, w => Done(new HttpRequestMessage(HttpMethod.Post, "/api/auth/login") { Content = Json(new { email = w.Owner.Email, password = "not the password" }) }));
        yield return new("Login", 429, ErrorCodes.TooManyAttempts, async w =>
        {
            var victim = await Infrastructure.Identity.SignUpAsync(w.Main);
            for (var i = 0; i < 5; i++)
            {
                (await w.Main.Client.PostAsJsonAsync("/api/auth/login", new { email = victim.Email, password = "wrong password " + i })).Dispose();
            }

            return new HttpRequestMessage(HttpMethod.Post, "/api/auth/login") { Content = Json(new { email = victim.Email, password = victim.Password }) };
        })
        {
            // Five failures from this address refuse its logins for 15 minutes: nothing may log in after it.
            Last = true,
        };

        yield return new("Logout", 200, null, async w =>
        {
            var session = await Infrastructure.Identity.LoginAsync(w.Main, w.Owner.Email, w.Owner.Password);
            return Session(HttpMethod.Post, "/api/auth/logout", session.Cookie, session.CsrfToken);
        });

        yield return new("Me", 200, null, w => Done(Keyed(HttpMethod.Get, "/api/auth/me", w.Key)));
        yield return new("Me", 404, ErrorCodes.NotFound, w => Done(Session(HttpMethod.Get, "/api/auth/me", w.Ids["gone_session"], null)));

        yield return new("CreateKey", 201, null, w => Done(w.AsOwner(HttpMethod.Post, "/api/keys", new { name = "contract", scopes = new[] { Scopes.ContactsRead } })));
        yield return new("ListKeys", 200, null, w => Done(w.AsOwner(HttpMethod.Get, "/api/keys")));
        yield return new("RevokeKey", 200, null, async w =>
        {
            var id = (await w.Owner.CreateKeyDataAsync("to revoke")).GetProperty("id").GetString()!;
            return w.AsOwner(HttpMethod.Delete, "/api/keys/" + id);
        });
        yield return new("RevokeKey", 404, ErrorCodes.NotFound, w => Done(w.AsOwner(HttpMethod.Delete, "/api/keys/key_00000000000000000000000000000000")));
    }
}
