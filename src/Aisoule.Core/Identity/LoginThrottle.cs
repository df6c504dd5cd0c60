using System.Globalization;
using Aisoule.Core.Identity.Entities;
using Aisoule.Core.Storage;
using Azure;
using Microsoft.Extensions.Options;

namespace Aisoule.Core.Identity;

/// <summary>
/// Counts login attempts per email and per client address in Table Storage, so every instance sees one count.
/// An attempt is reserved (written under an ETag) before its password is checked, so parallel guesses count as
/// they arrive; a successful login gives its reservation back. After <c>LoginFailureLimit</c> inside
/// <c>LoginFailureWindow</c>, attempts wait.
/// </summary>
public sealed class LoginThrottle(StorageAccount storage, IOptions<IdentityOptions> options, TimeProvider clock)
{
    // A key this contended is being hammered: answer "wait" rather than keep the caller (or storage) busy.
    private static readonly TimeSpan ContentionBudget = TimeSpan.FromSeconds(3);

    public static string EmailKey(string normalisedEmail) => "email_" + Secrets.Hash(normalisedEmail);

    public static string AddressKey(string address) => "addr_" + Secrets.Hash(address);

    /// <summary>Reserves one attempt on every key; null if allowed, else how long to wait.</summary>
    public async Task<TimeSpan?> ReserveAsync(IReadOnlyList<string> keys, DateTimeOffset stamp, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(keys);
        foreach (var key in keys)
        {
            if (await ReserveOneAsync(key, stamp, cancellationToken).ConfigureAwait(false) is { } wait)
            {
                return TimeSpan.FromSeconds(Math.Max(1, Math.Ceiling(wait.TotalSeconds)));
            }
        }

        return null;
    }

    /// <summary>Gives back one reservation (the attempt succeeded, so it was not a failure).</summary>
    public Task ReleaseAsync(string key, DateTimeOffset stamp, CancellationToken cancellationToken = default) =>
        ChangeAsync(key, times => { times.Remove(stamp); return true; }, cancellationToken);

    public async Task ResetAsync(string key, CancellationToken cancellationToken = default)
    {
        var table = await storage.GetTableAsync(IdentityTables.LoginFailures, cancellationToken).ConfigureAwait(false);
        await table.DeleteEntityAsync(key, LoginFailureEntity.Row, ETag.All, cancellationToken).ConfigureAwait(false);
    }

    private async Task<TimeSpan?> ReserveOneAsync(string key, DateTimeOffset stamp, CancellationToken cancellationToken)
    {
        TimeSpan? wait = null;
        var written = await ChangeAsync(key, times =>
        {
            if (times.Count >= options.Value.LoginFailureLimit)
            {
                wait = times[^options.Value.LoginFailureLimit] + options.Value.LoginFailureWindow - clock.GetUtcNow();
                return false;
            }

            times.Add(stamp);
            return true;
        }, cancellationToken).ConfigureAwait(false);
        return written ? null : wait ?? TimeSpan.FromSeconds(1);
    }

    /// <summary>
    /// Read, change, write under the ETag; again on a conflict, within a time budget. False when the change
    /// declined to write, or the row stayed too contended to write.
    /// </summary>
    private async Task<bool> ChangeAsync(string key, Func<List<DateTimeOffset>, bool> change, CancellationToken cancellationToken)
    {
        var table = await storage.GetTableAsync(IdentityTables.LoginFailures, cancellationToken).ConfigureAwait(false);
        var deadline = clock.GetUtcNow() + ContentionBudget;
        for (var attempt = 0; ; attempt++)
        {
            var found = await table.GetEntityIfExistsAsync<LoginFailureEntity>(key, LoginFailureEntity.Row, cancellationToken: cancellationToken).ConfigureAwait(false);
            var entity = found.HasValue ? found.Value! : new LoginFailureEntity { PartitionKey = key };
            var times = Recent(entity);
            if (!change(times))
            {
                return false;
            }

            entity.Failures = string.Join(' ', times.Order().Select(t => t.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture)));
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

                return true;
            }
            catch (RequestFailedException ex) when (ex.Status is 409 or 412 && clock.GetUtcNow() < deadline)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(Random.Shared.Next(5, 25) * Math.Min(attempt + 1, 8)), cancellationToken).ConfigureAwait(false);
            }
            catch (RequestFailedException ex) when (ex.Status is 409 or 412)
            {
                return false;
            }
        }
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
