using System.Net;
using System.Text.RegularExpressions;
using Aisoule.Core.Identity;
using Aisoule.Core.Identity.Entities;
using Aisoule.Core.Storage;
using Aisoule.Functions.Catalog;
using Aisoule.Functions.Hosting;
using Aisoule.Functions.Routing;
using Aisoule.Tests.Infrastructure;
using Azure;
using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace Aisoule.Tests.Identity;

public sealed partial class AccessDeclarationTests
{
    // The only endpoints anyone may call without credentials. The Meta webhook joins this list with messaging.
    // Meta's webhook is public by design: it proves itself with X-Hub-Signature-256 (and the verify token).
    private static readonly string[] Public = ["GetHealth", "SignUp", "Login", "VerifyWhatsAppWebhook", "ReceiveWhatsAppWebhook", "GetOpenApiDocument", "GetApiReference", "GetApiReferenceAsset", FallbackFunctions.Name];

    private static readonly FunctionCatalog AppCatalog = FunctionCatalog.Create(typeof(AisouleServiceCollectionExtensions).Assembly);

    [Fact]
    public void Every_http_function_declares_what_it_needs()
    {
        var undeclared = AppCatalog.HttpFunctions.Where(f => f.Access is null).Select(f => f.Name).ToList();

        Assert.Empty(undeclared);
    }

    [Fact]
    public void Only_the_public_endpoints_accept_no_credentials()
    {
        var open = AppCatalog.HttpFunctions.Where(f => f.Access?.Credentials == Functions.Pipeline.Credentials.None).Select(f => f.Name).Order();

        Assert.Equal(Public.Order(), open);
    }

    [Fact]
    public async Task Every_function_refuses_a_request_without_credentials_except_the_public_ones()
    {
        await using var host = await TestHost.StartAsync();
        var checkedCount = 0;
        foreach (var function in AppCatalog.HttpFunctions.Where(f => !Public.Contains(f.Name)))
        {
            var path = Parameter().Replace(function.Http!.Route, "x");
            foreach (var method in function.Http.Methods.Count == 0 ? ["GET"] : function.Http.Methods)
            {
                using var request = new HttpRequestMessage(new HttpMethod(method), path);
                if (method is "POST" or "PUT")
                {
                    request.Content = new StringContent("{}", System.Text.Encoding.UTF8, "application/json");
                }

                var response = await host.Client.SendAsync(request);
                await Envelope.ErrorAsync(response, HttpStatusCode.Unauthorized, "unauthenticated");
                checkedCount++;
            }
        }

        Assert.True(checkedCount >= 5, $"only {checkedCount} protected endpoints found");
    }

    [Fact]
    public void Only_the_account_writes_declare_that_they_are_for_owners_and_admins()
    {
        var managersOnly = AppCatalog.HttpFunctions.Where(f => f.Access?.ManagersOnly == true).Select(f => f.Name).Order();

        Assert.Equal(["AddAccount", "RemoveAccount", "UpdateAccount"], managersOnly);
    }

    [Fact]
    public async Task An_agent_is_refused_the_account_writes_with_403_forbidden_before_its_body_is_read_and_may_still_list_accounts()
    {
        await using var host = await TestHost.StartAsync();
        var signedUp = await Infrastructure.Identity.SignUpAsync(host);
        var users = await host.Services.GetRequiredService<StorageAccount>().GetTableAsync(IdentityTables.Workspaces);
        await users.UpdateEntityAsync(new TableEntity(signedUp.WorkspaceId, UserEntity.RowFor(signedUp.UserId)) { ["Role"] = Roles.Agent }, ETag.All, TableUpdateMode.Merge);
        var agent = await Infrastructure.Identity.LoginAsync(host, signedUp.Email, signedUp.Password);

        foreach (var (method, path) in new[] { (HttpMethod.Post, "accounts"), (HttpMethod.Put, "accounts/acc_x"), (HttpMethod.Delete, "accounts/acc_x") })
        {
            using var request = new HttpRequestMessage(method, path) { Content = new StringContent("not json", System.Text.Encoding.UTF8, "application/json") };
            request.Headers.Add("Cookie", agent.Cookie);
            request.Headers.Add("X-CSRF-Token", agent.CsrfToken);

            var body = await Envelope.ErrorAsync(await host.Client.SendAsync(request), HttpStatusCode.Forbidden, "forbidden");
            Assert.Contains("owners and admins", body.GetProperty("message").GetString(), StringComparison.Ordinal);
        }

        await Envelope.SuccessAsync(await agent.GetAsync("accounts"));
    }

    [GeneratedRegex(@"\{[^}]+\}")]
    private static partial Regex Parameter();
}
