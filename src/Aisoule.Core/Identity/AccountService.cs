using System.Diagnostics.Metrics;
using Aisoule.Core.Identity.Entities;
using Aisoule.Core.Results;
using Aisoule.Core.Storage;
using Aisoule.Core.Telemetry;
using Azure;
using Azure.Data.Tables;
using Microsoft.Extensions.Options;

namespace Aisoule.Core.Identity;

/// <summary>Accounts: sign-up, login, the first owner, and who a caller is.</summary>
public sealed class AccountService(
    StorageAccount storage,
    SessionService sessions,
    AttemptThrottle throttle,
    IOptions<IdentityOptions> options,
    TimeProvider clock,
    IMeterFactory meters)
{
    // Each PBKDF2 derivation costs about as much CPU as hundreds of ordinary requests: worth watching, and the
    // tests' way to see that a refused sign-up never paid for one.
    private readonly Counter<long> _passwordHashes = meters.Create("Aisoule.Identity")
        .CreateCounter<long>("aisoule.identity.password_hashes", "{hash}", "PBKDF2 password derivations, by purpose (new_account, login).");

    public static string NormaliseEmail(string email)
    {
        ArgumentNullException.ThrowIfNull(email);
        return email.Trim().ToLowerInvariant();
    }

    /// <summary>
    /// A new workspace and its owner. Throttled per client address and in total before anything else, and an email
    /// that has an account is refused before its password is hashed, so a flood of sign-ups costs storage calls, not CPU.
    /// </summary>
    public async Task<Outcome<SignedIn>> SignUpAsync(string email, string password, string name, string workspaceName, string clientAddress, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(clientAddress);
        AttemptCounter[] counters =
        [
            new(IdentityTables.SignupAttempts, "addr_" + Secrets.Hash(clientAddress), options.Value.SignupAddressLimit, options.Value.SignupWindow),
            new(IdentityTables.SignupAttempts, "all", options.Value.SignupTotalLimit, options.Value.SignupWindow),
        ];
        if ((await throttle.ReserveAsync(counters, cancellationToken).ConfigureAwait(false)).RetryAfter is { } wait)
        {
            return TooManyAttempts(AisouleTelemetry.Limits.Signup, "Too many sign-ups", wait);
        }

        var (login, created) = await CreateAccountAsync(email, password, name, workspaceName, Roles.Owner, cancellationToken).ConfigureAwait(false);
        if (!created)
        {
            return new ApiError(ErrorCodes.EmailTaken, "An account with this email already exists.");
        }

        return await StartSessionAsync(login, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Checks a password, throttled per client address and per email. Only failures count: the attempt holds a place
    /// while its password is checked (so parallel guesses never exceed the limit), then a failure is counted and a
    /// success gives its place back. Parallel logins beyond the places left wait their turn instead of being refused.
    /// </summary>
    public async Task<Outcome<SignedIn>> LoginAsync(string email, string password, string clientAddress, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(clientAddress);
        var normalised = NormaliseEmail(email);

        // The address first: an attempt its address refuses does not count against the email it names.
        AttemptCounter address = new(IdentityTables.LoginFailures, "addr_" + Secrets.Hash(clientAddress), options.Value.LoginFailureLimit, options.Value.LoginFailureWindow);
        AttemptCounter account = new(IdentityTables.LoginFailures, "email_" + Secrets.Hash(normalised), options.Value.LoginFailureLimit, options.Value.LoginFailureWindow);
        var reservation = await throttle.BeginAsync([address, account], cancellationToken).ConfigureAwait(false);
        if (reservation.RetryAfter is { } wait)
        {
            return TooManyAttempts(AisouleTelemetry.Limits.Login, reservation.Busy ? "Too many logins at once" : "Too many failed logins", wait);
        }

        var logins = await storage.GetTableAsync(IdentityTables.Logins, cancellationToken).ConfigureAwait(false);
        var found = await logins.GetEntityIfExistsAsync<LoginEntity>(Secrets.Hash(normalised), LoginEntity.Row, cancellationToken: cancellationToken).ConfigureAwait(false);
        var login = found.HasValue ? found.Value : null;

        // The hash is checked whether or not the email exists, so both failures cost the same time. A failure is
        // counted on both; a success clears the email's count and gives the address's place back (the address's other
        // failures stand: a success with one account does not wipe guesses at others).
        _passwordHashes.Add(1, new KeyValuePair<string, object?>("purpose", "login"));
        if (!PasswordHasher.Verify(password, login?.PasswordHash, options.Value.PasswordIterations) || login is null)
        {
            // Not the caller's token: a guess whose caller hung up still counts.
            await Task.WhenAll(throttle.FailAsync(address, reservation, CancellationToken.None), throttle.FailAsync(account, reservation, CancellationToken.None)).ConfigureAwait(false);
            return new ApiError(ErrorCodes.InvalidCredentials, "Email or password is incorrect.");
        }

        await throttle.ClearFailuresAsync(account, reservation, cancellationToken).ConfigureAwait(false);
        await throttle.ReleaseAsync(address, reservation, cancellationToken).ConfigureAwait(false);
        await MaterialiseAsync(login, cancellationToken).ConfigureAwait(false);
        return await StartSessionAsync(login, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Creates the owner if no account has this email; safe to call from many instances at once.</summary>
    public async Task<bool> EnsureOwnerAsync(string email, string password, string workspaceName, CancellationToken cancellationToken = default)
    {
        var name = NormaliseEmail(email).Split('@')[0];
        var (_, created) = await CreateAccountAsync(email, password, name, workspaceName, Roles.Owner, cancellationToken).ConfigureAwait(false);
        return created;
    }

    public async Task<(UserView User, WorkspaceView Workspace)?> GetProfileAsync(Caller caller, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(caller);
        var table = await storage.GetTableAsync(IdentityTables.Workspaces, cancellationToken).ConfigureAwait(false);
        var workspace = await table.GetEntityIfExistsAsync<WorkspaceEntity>(caller.WorkspaceId, WorkspaceEntity.Row, cancellationToken: cancellationToken).ConfigureAwait(false);
        var user = await table.GetEntityIfExistsAsync<UserEntity>(caller.WorkspaceId, UserEntity.RowFor(caller.UserId), cancellationToken: cancellationToken).ConfigureAwait(false);
        return workspace.HasValue && user.HasValue ? (UserView.From(user.Value!), WorkspaceView.From(workspace.Value!)) : null;
    }

    private async Task<(LoginEntity Login, bool Created)> CreateAccountAsync(
        string email, string password, string name, string workspaceName, string role, CancellationToken cancellationToken)
    {
        var normalised = NormaliseEmail(email);
        var logins = await storage.GetTableAsync(IdentityTables.Logins, cancellationToken).ConfigureAwait(false);

        // An email that has an account costs one read, not a password hash.
        var existing = await logins.GetEntityIfExistsAsync<LoginEntity>(Secrets.Hash(normalised), LoginEntity.Row, cancellationToken: cancellationToken).ConfigureAwait(false);
        if (existing.HasValue)
        {
            await MaterialiseAsync(existing.Value!, cancellationToken).ConfigureAwait(false);
            return (existing.Value!, false);
        }

        _passwordHashes.Add(1, new KeyValuePair<string, object?>("purpose", "new_account"));
        var login = new LoginEntity
        {
            PartitionKey = Secrets.Hash(normalised),
            Email = normalised,
            PasswordHash = PasswordHasher.Hash(password, options.Value.PasswordIterations),
            WorkspaceId = Secrets.NewId("ws_"),
            UserId = Secrets.NewId("usr_"),
            Name = name,
            WorkspaceName = workspaceName,
            Role = role,
            CreatedAt = clock.GetUtcNow(),
        };

        // The insert is the commit point: of sign-ups racing past the read above, one wins and the rest see 409.
        var created = true;
        try
        {
            await logins.AddEntityAsync(login, cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException ex) when (ex.Status == 409)
        {
            created = false;
            login = (await logins.GetEntityAsync<LoginEntity>(login.PartitionKey, LoginEntity.Row, cancellationToken: cancellationToken).ConfigureAwait(false)).Value;
        }

        // Idempotent: completes an account whose creator stopped between the two writes.
        await MaterialiseAsync(login, cancellationToken).ConfigureAwait(false);
        return (login, created);
    }

    private async Task MaterialiseAsync(LoginEntity login, CancellationToken cancellationToken)
    {
        var table = await storage.GetTableAsync(IdentityTables.Workspaces, cancellationToken).ConfigureAwait(false);
        var existing = await table.GetEntityIfExistsAsync<UserEntity>(login.WorkspaceId, UserEntity.RowFor(login.UserId), cancellationToken: cancellationToken).ConfigureAwait(false);
        if (existing.HasValue)
        {
            return;
        }

        TableTransactionAction[] actions =
        [
            new(TableTransactionActionType.UpsertReplace, new WorkspaceEntity { PartitionKey = login.WorkspaceId, Name = login.WorkspaceName, CreatedAt = login.CreatedAt }),
            new(TableTransactionActionType.UpsertReplace, new UserEntity
            {
                PartitionKey = login.WorkspaceId,
                RowKey = UserEntity.RowFor(login.UserId),
                UserId = login.UserId,
                Email = login.Email,
                Name = login.Name,
                Role = login.Role,
                CreatedAt = login.CreatedAt,
            }),
        ];
        await TableBatch.SubmitAsync(table, actions, cancellationToken).ConfigureAwait(false);
    }

    private static ApiError TooManyAttempts(string limit, string what, TimeSpan wait)
    {
        AisouleTelemetry.RateLimitRefused(limit);
        return new(ErrorCodes.TooManyAttempts, $"{what}. Try again in {(int)Math.Ceiling(wait.TotalSeconds)} seconds.") { RetryAfter = wait };
    }

    private async Task<SignedIn> StartSessionAsync(LoginEntity login, CancellationToken cancellationToken)
    {
        var table = await storage.GetTableAsync(IdentityTables.Workspaces, cancellationToken).ConfigureAwait(false);
        var user = (await table.GetEntityAsync<UserEntity>(login.WorkspaceId, UserEntity.RowFor(login.UserId), cancellationToken: cancellationToken).ConfigureAwait(false)).Value;
        var workspace = (await table.GetEntityAsync<WorkspaceEntity>(login.WorkspaceId, WorkspaceEntity.Row, cancellationToken: cancellationToken).ConfigureAwait(false)).Value;
        var (token, csrf, expiresAt) = await sessions.StartAsync(user, cancellationToken).ConfigureAwait(false);
        return new SignedIn(UserView.From(user), WorkspaceView.From(workspace), token, csrf, expiresAt);
    }
}
