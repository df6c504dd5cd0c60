using System.Globalization;
using Aisoule.Core.Identity.Entities;
using Aisoule.Core.Storage;
using Azure;
using Microsoft.Extensions.Options;

namespace Aisoule.Core.Identity;

/// <summary>
/// Counts failed logins per email and per client address in Table Storage (so every instance sees the same
/// count): after <c>LoginFailureLimit</c> failures inside <c>LoginFailureWindow</c>, logins wait.
/// </summary>
public sealed class LoginThrottle(StorageAccount storage, IOptions<IdentityOptions> options, TimeProvider clock)
{
    public static string EmailKey(string normalisedEmail) => "email_" + Secrets.Hash(normalisedEmail);

    public static string AddressKey(string address) => "addr_" + Secrets.Hash(address);

    /// <summary>How long to wait before the next attempt is allowed, or null if it is allowed now.</summary>
    public async Task<TimeSpan?> RetryAfterAsync(IEnumerable<string> keys, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(keys);
        var table = await storage.GetTableAsync(IdentityTables.LoginFailures, cancellationToken).ConfigureAwait(false);
        TimeSpan? wait = null;
        foreach (var key in keys)
        {
            var found = await table.GetEntityIfExistsAsync<LoginFailureEntity>(key, LoginFailureEntity.Row, cancellationToken: cancellationToken).ConfigureAwait(false);
            var recent = found.HasValue ? Recent(found.Value!) : [];
            if (recent.Count >= options.Value.LoginFailureLimit)
            {
                var until = recent[^options.Value.LoginFailureLimit] + options.Value.LoginFailureWindow - clock.GetUtcNow();
                wait = wait is null || until > wait ? until : wait;
            }
        }

        return wait is { } w ? TimeSpan.FromSeconds(Math.Max(1, Math.Ceiling(w.TotalSeconds))) : null;
    }

    public async Task RecordFailureAsync(string key, CancellationToken cancellationToken = default)
    {
        var table = await storage.GetTableAsync(IdentityTables.LoginFailures, cancellationToken).ConfigureAwait(false);
        for (var attempt = 0; ; attempt++)
        {
            var found = await table.GetEntityIfExistsAsync<LoginFailureEntity>(key, LoginFailureEntity.Row, cancellationToken: cancellationToken).ConfigureAwait(false);
            var entity = found.HasValue ? found.Value! : new LoginFailureEntity { PartitionKey = key };
            var times = Recent(entity).TakeLast(options.Value.LoginFailureLimit * 2).Append(clock.GetUtcNow());
            entity.Failures = string.Join(' ', times.Select(t => t.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture)));
            try
            {
                if (found.HasValue)
                {
                    await table.UpdateEntityAsync(entity, entity.ETag, cancellationToken: cancellationToken).ConfigureAwait(false);
                }
                else
                {
                    await table.AddEntityAsync(entity, cancellationToken).ConfigureAwait(false);
                }

                return;
            }
            catch (RequestFailedException ex) when (ex.Status is 409 or 412 && attempt < 10)
            {
                // Another failure was recorded at the same moment: read again and add ours to it.
            }
        }
    }

    public async Task ResetAsync(string key, CancellationToken cancellationToken = default)
    {
        var table = await storage.GetTableAsync(IdentityTables.LoginFailures, cancellationToken).ConfigureAwait(false);
        await table.DeleteEntityAsync(key, LoginFailureEntity.Row, ETag.All, cancellationToken).ConfigureAwait(false);
    }

    private List<DateTimeOffset> Recent(LoginFailureEntity entity)
    {
        var since = clock.GetUtcNow() - options.Value.LoginFailureWindow;
        return [.. entity.Failures.Split(' ', StringSplitOptions.RemoveEmptyEntries)
            .Select(t => DateTimeOffset.FromUnixTimeMilliseconds(long.Parse(t, CultureInfo.InvariantCulture)))
            .Where(t => t > since)
            .Order()];
    }
}
