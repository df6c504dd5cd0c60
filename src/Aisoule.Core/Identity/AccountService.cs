using Aisoule.Core.Identity.Entities;
using Aisoule.Core.Results;
using Aisoule.Core.Storage;
using Azure;
using Azure.Data.Tables;
using Microsoft.Extensions.Options;

namespace Aisoule.Core.Identity;

/// <summary>Accounts: sign-up, login, the first owner, and who a caller is.</summary>
public sealed class AccountService(
    StorageAccount storage,
    SessionService sessions,
    LoginThrottle throttle,
    IOptions<IdentityOptions> options,
    TimeProvider clock)
{
    public static string NormaliseEmail(string email)
    {
        ArgumentNullException.ThrowIfNull(email);
        return email.Trim().ToLowerInvariant();
    }

    public async Task<Outcome<SignedIn>> SignUpAsync(string email, string password, string name, string workspaceName, CancellationToken cancellationToken = default)
    {
        var (login, created) = await CreateAccountAsync(email, password, name, workspaceName, Roles.Owner, cancellationToken).ConfigureAwait(false);
        if (!created)
        {
            return ApiError.Conflict(ErrorCodes.EmailTaken, "An account with this email already exists.");
        }

        return await StartSessionAsync(login, cancellationToken).ConfigureAwait(false);
    }

    public async Task<Outcome<SignedIn>> LoginAsync(string email, string password, string clientAddress, CancellationToken cancellationToken = default)
    {
        var normalised = NormaliseEmail(email);
        string[] throttleKeys = [LoginThrottle.EmailKey(normalised), LoginThrottle.AddressKey(clientAddress)];
        var stamp = clock.GetUtcNow();
        if (await throttle.ReserveAsync(throttleKeys, stamp, cancellationToken).ConfigureAwait(false) is { } wait)
        {
            var seconds = (int)Math.Ceiling(wait.TotalSeconds);
            return new ApiError(429, ErrorCodes.TooManyAttempts, $"Too many failed logins. Try again in {seconds} seconds.") { RetryAfter = wait };
        }

        var logins = await storage.GetTableAsync(IdentityTables.Logins, cancellationToken).ConfigureAwait(false);
        var found = await logins.GetEntityIfExistsAsync<LoginEntity>(Secrets.Hash(normalised), LoginEntity.Row, cancellationToken: cancellationToken).ConfigureAwait(false);
        var login = found.HasValue ? found.Value : null;

        // The hash is checked whether or not the email exists, so both failures cost the same time. A failure keeps
        // its reservation in the throttle; a success clears the email's count and gives the address's back.
        if (!PasswordHasher.Verify(password, login?.PasswordHash, options.Value.PasswordIterations) || login is null)
        {
            return ApiError.Unauthorized(ErrorCodes.InvalidCredentials, "Email or password is incorrect.");
        }

        await throttle.ResetAsync(throttleKeys[0], cancellationToken).ConfigureAwait(false);
        await throttle.ReleaseAsync(throttleKeys[1], stamp, cancellationToken).ConfigureAwait(false);
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

        var logins = await storage.GetTableAsync(IdentityTables.Logins, cancellationToken).ConfigureAwait(false);
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

    private async Task<SignedIn> StartSessionAsync(LoginEntity login, CancellationToken cancellationToken)
    {
        var table = await storage.GetTableAsync(IdentityTables.Workspaces, cancellationToken).ConfigureAwait(false);
        var user = (await table.GetEntityAsync<UserEntity>(login.WorkspaceId, UserEntity.RowFor(login.UserId), cancellationToken: cancellationToken).ConfigureAwait(false)).Value;
        var workspace = (await table.GetEntityAsync<WorkspaceEntity>(login.WorkspaceId, WorkspaceEntity.Row, cancellationToken: cancellationToken).ConfigureAwait(false)).Value;
        var (token, csrf, expiresAt) = await sessions.StartAsync(user, cancellationToken).ConfigureAwait(false);
        return new SignedIn(UserView.From(user), WorkspaceView.From(workspace), token, csrf, expiresAt);
    }
}
