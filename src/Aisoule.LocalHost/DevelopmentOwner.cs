using Aisoule.Core.Identity;
using Aisoule.Core.Storage;

namespace Aisoule.LocalHost;

/// <summary>
/// On a developer's machine with no <c>AISOULE_OWNER_*</c> set, makes sure there is an owner to log in as, and
/// says how to log in. A generated password is shown once, when the owner is created, and never logged.
/// </summary>
internal static class DevelopmentOwner
{
    public const string Email = "dev@aisoule.local";

    public static async Task<string[]> EnsureAsync(WebApplication app)
    {
        var configured = app.Configuration["AISOULE_OWNER_EMAIL"];
        if (!string.IsNullOrWhiteSpace(configured))
        {
            return [$"Log in as {configured} with the password in AISOULE_OWNER_PASSWORD."];
        }

        if (!app.Environment.IsDevelopment())
        {
            return ["No owner configured: set AISOULE_OWNER_EMAIL and AISOULE_OWNER_PASSWORD."];
        }

        var password = Secrets.NewToken(12);
        try
        {
            var created = await app.Services.GetRequiredService<AccountService>().EnsureOwnerAsync(Email, password, "Development").ConfigureAwait(false);
            return created
                ? [$"Development owner created (shown once): {Email}  password: {password}"]
                : [$"Log in as {Email} (its password was printed when it was created;", "delete .azurite/ to start afresh, or set AISOULE_OWNER_EMAIL and AISOULE_OWNER_PASSWORD)."];
        }
        catch (Exception ex) when (StorageFailures.IsUnavailable(ex))
        {
            return ["Storage is unreachable, so no development owner could be created yet; restart once it is up."];
        }
    }
}
