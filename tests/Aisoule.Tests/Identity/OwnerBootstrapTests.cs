using Aisoule.Core.Identity;
using Aisoule.Core.Identity.Entities;
using Aisoule.Tests.Infrastructure;
using Azure.Data.Tables;
using Xunit;

namespace Aisoule.Tests.Identity;

public sealed class OwnerBootstrapTests
{
    [Fact]
    public async Task Owner_from_settings_can_log_in_to_its_named_workspace()
    {
        var email = Infrastructure.Identity.NewEmail();
        await using var host = await TestHost.StartAsync(OwnerSettings(email, "Shop"));

        var account = await LoginEventuallyAsync(host, email);

        var me = await Envelope.SuccessAsync(await account.GetAsync("auth/me"));
        Assert.Equal("Shop", me.GetProperty("workspace").GetProperty("name").GetString());
        Assert.Equal("owner", me.GetProperty("role").GetString());
    }

    [Fact]
    public async Task Two_instances_starting_at_once_and_a_restart_make_exactly_one_owner()
    {
        var email = Infrastructure.Identity.NewEmail();
        var prefix = TestHost.NewPrefix();
        var settings = OwnerSettings(email, "Default");

        var hosts = await Task.WhenAll(TestHost.StartAsync(settings, prefix: prefix), TestHost.StartAsync(settings, prefix: prefix));
        var first = await LoginEventuallyAsync(hosts[0], email);
        await LoginEventuallyAsync(hosts[1], email);
        await hosts[1].DisposeAsync();
        await using (var restarted = await TestHost.StartAsync(settings, prefix: prefix))
        {
            var again = await LoginEventuallyAsync(restarted, email);
            Assert.Equal(first.WorkspaceId, again.WorkspaceId);
        }

        var service = new TableServiceClient(hosts[0].ConnectionString);
        var workspaces = await service.GetTableClient(prefix + "workspaces").QueryAsync<TableEntity>(e => e.RowKey == WorkspaceEntity.Row).ToListAsync();
        var logins = await service.GetTableClient(prefix + "logins").QueryAsync<TableEntity>().ToListAsync();
        await hosts[0].DisposeAsync();
        Assert.Single(workspaces);
        Assert.Single(logins);
    }

    [Fact]
    public async Task Passwords_are_stored_as_pbkdf2_sha256_with_at_least_600000_iterations()
    {
        await using var host = await TestHost.StartAsync();
        var account = await Infrastructure.Identity.SignUpAsync(host);

        var logins = new TableServiceClient(host.ConnectionString).GetTableClient(host.Prefix + "logins");
        var login = (await logins.GetEntityAsync<LoginEntity>(Secrets.Hash(account.Email), LoginEntity.Row)).Value;

        var parts = login.PasswordHash.Split('$');
        Assert.Equal("pbkdf2-sha256", parts[0]);
        Assert.True(int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture) >= 600_000);
        Assert.DoesNotContain(account.Password, login.PasswordHash, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("admin", "long enough password")]
    [InlineData("owner@example.com", "short")]
    public async Task Owner_settings_that_are_not_an_email_and_a_10_character_password_stop_the_start(string email, string password)
    {
        var settings = new Dictionary<string, string?> { ["AISOULE_OWNER_EMAIL"] = email, ["AISOULE_OWNER_PASSWORD"] = password };

        await Assert.ThrowsAsync<Microsoft.Extensions.Options.OptionsValidationException>(() => TestHost.StartAsync(settings));
    }

    [Fact]
    public async Task Login_completes_an_account_whose_user_row_was_never_written()
    {
        await using var host = await TestHost.StartAsync();
        var account = await Infrastructure.Identity.SignUpAsync(host);
        var workspaces = new TableServiceClient(host.ConnectionString).GetTableClient(host.Prefix + "workspaces");
        await workspaces.DeleteEntityAsync(account.WorkspaceId, UserEntity.RowFor(account.UserId));

        var again = await Infrastructure.Identity.LoginAsync(host, account.Email, account.Password);

        Assert.Equal(account.UserId, again.UserId);
    }

    private static Dictionary<string, string?> OwnerSettings(string email, string workspace) => new()
    {
        ["AISOULE_OWNER_EMAIL"] = email,
        ["AISOULE_OWNER_PASSWORD"] = Infrastructure.Identity.Password,
        ["AISOULE_OWNER_WORKSPACE"] = workspace,
    };

    private static async Task<Account> LoginEventuallyAsync(TestHost host, string email)
    {
        // The owner is created in the background at start-up.
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (true)
        {
            try
            {
                return await Infrastructure.Identity.LoginAsync(host, email, Infrastructure.Identity.Password);
            }
            catch (Xunit.Sdk.XunitException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(200);
            }
        }
    }
}
