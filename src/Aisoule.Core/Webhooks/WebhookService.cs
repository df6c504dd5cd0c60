using Aisoule.Core.Identity;
using Aisoule.Core.Results;
using Aisoule.Core.Storage;
using Azure;
using Azure.Data.Tables;
using Microsoft.Extensions.Options;

namespace Aisoule.Core.Webhooks;

/// <summary>What <c>POST /webhooks</c> asks for, whichever of the accepted shapes it came in.</summary>
public sealed record WebhookDraft(string? Name, string Url, IReadOnlyList<string> Events);

/// <summary>What <c>PATCH /webhooks/{id}</c> changes (null: unchanged).</summary>
public sealed record WebhookPatch(string? Name, string? Url, IReadOnlyList<string>? Events, bool? Enabled);

/// <summary>Subscriptions (spec §7): made, listed, read, changed, removed, their secrets rotated.</summary>
public sealed class WebhookService(StorageAccount storage, IOptionsMonitor<WebhookOptions> options, TimeProvider clock)
{
    public const string Table = "webhooks";
    public const string IdPrefix = "wh_";
    public const int MaxPerWorkspace = 25;
    public const int MaxNameLength = 100;

    /// <summary>How long the secret before a rotation keeps signing beside the new one.</summary>
    public static readonly TimeSpan RotationOverlap = TimeSpan.FromHours(24);

    private const string RowPrefix = "h_";
    private readonly System.Collections.Concurrent.ConcurrentDictionary<(string, string), DateTimeOffset> _healthySince = new();
    private const string HealthPrefix = "hh_";

    public static string Row(string id) => RowPrefix + id;

    public static string HealthRow(string id) => HealthPrefix + id;

    public static bool IsId(string? id) => Secrets.IsId(id, IdPrefix);

    /// <summary>The problems with a draft's or patch's fields, keyed by field, or null.</summary>
    public IReadOnlyDictionary<string, string[]>? Problems(string? url, IReadOnlyList<string>? events, string? name, bool urlRequired)
    {
        var problems = new Dictionary<string, string[]>(StringComparer.Ordinal);
        if (url is not null || urlRequired)
        {
            if (WebhookTargets.Problem(url, options.CurrentValue.AllowPrivateTargets) is { } p)
            {
                problems["url"] = [p];
            }
        }

        if (events is not null)
        {
            if (events.Count == 0)
            {
                problems["events"] = ["At least one event: " + string.Join(", ", WebhookEvents.Names) + ", or * for all."];
            }
            else if (events.Any(e => e is null))
            {
                problems["events"] = ["An event name, not null."];
            }
            else if (events.FirstOrDefault(e => e != WebhookEvents.All && !WebhookEvents.IsName(e)) is { } unknown)
            {
                problems["events"] = [$"Unknown event '{Cut(unknown)}': one of {string.Join(", ", WebhookEvents.Names)}, or * for all."];
            }
        }

        if (name is not null && (name.Length > MaxNameLength || string.IsNullOrWhiteSpace(name)))
        {
            problems["name"] = [$"1 to {MaxNameLength} characters."];
        }

        return problems.Count == 0 ? null : problems;
    }

    public async Task<Outcome<WebhookWithSecret>> CreateAsync(string workspaceId, WebhookDraft draft, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(draft);
        if (Problems(draft.Url, draft.Events, draft.Name, urlRequired: true) is { } problems)
        {
            return ApiError.Validation(problems);
        }

        var table = await TableAsync(cancellationToken).ConfigureAwait(false);
        var existing = 0;
        await foreach (var _ in table.QueryAsync<TableEntity>(TableKeys.PrefixFilter(workspaceId, RowPrefix), select: ["RowKey"], cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            existing++;
        }

        if (existing >= MaxPerWorkspace)
        {
            return new ApiError(ErrorCodes.Conflict, $"A workspace has at most {MaxPerWorkspace} webhooks; delete one first.");
        }

        var now = clock.GetUtcNow();
        var id = Secrets.NewId(IdPrefix);
        var entity = new WebhookEntity
        {
            PartitionKey = workspaceId,
            RowKey = Row(id),
            Id = id,
            Name = draft.Name,
            Url = draft.Url,
            Events = [.. draft.Events.Distinct(StringComparer.Ordinal)],
            Enabled = true,
            Secret = WebhookSignature.NewSecret(),
            CreatedAt = now,
            UpdatedAt = now,
        };
        await table.AddEntityAsync(entity, cancellationToken).ConfigureAwait(false);
        return WebhookWithSecret.From(WebhookView.From(entity, null, now), entity.Secret);
    }

    public async Task<IReadOnlyList<WebhookView>> ListAsync(string workspaceId, CancellationToken cancellationToken = default)
    {
        var table = await TableAsync(cancellationToken).ConfigureAwait(false);
        var hooks = new List<WebhookEntity>();
        var health = new Dictionary<string, WebhookHealthEntity>(StringComparer.Ordinal);
        var hooksRead = Task.Run(async () =>
        {
            await foreach (var h in table.QueryAsync<WebhookEntity>(TableKeys.PrefixFilter(workspaceId, RowPrefix), cancellationToken: cancellationToken).ConfigureAwait(false))
            {
                hooks.Add(h);
            }
        }, cancellationToken);
        await foreach (var h in table.QueryAsync<WebhookHealthEntity>(TableKeys.PrefixFilter(workspaceId, HealthPrefix), cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            health[h.RowKey[HealthPrefix.Length..]] = h;
        }

        await hooksRead.ConfigureAwait(false);
        var now = clock.GetUtcNow();
        return [.. hooks.OrderByDescending(h => h.CreatedAt).Select(h => WebhookView.From(h, health.GetValueOrDefault(h.Id), now))];
    }

    /// <summary>Whether the workspace has any webhook at all (enabled or not).</summary>
    public async Task<bool> AnyAsync(string workspaceId, CancellationToken cancellationToken = default)
    {
        var table = await TableAsync(cancellationToken).ConfigureAwait(false);
        await foreach (var _ in table.QueryAsync<TableEntity>(TableKeys.PrefixFilter(workspaceId, RowPrefix), maxPerPage: 1, select: ["RowKey"], cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            return true;
        }

        return false;
    }

    /// <summary>The workspace's enabled webhooks, with their secrets.</summary>
    public async Task<IReadOnlyList<WebhookEntity>> EnabledAsync(string workspaceId, CancellationToken cancellationToken = default)
    {
        var table = await TableAsync(cancellationToken).ConfigureAwait(false);
        var hooks = new List<WebhookEntity>();
        await foreach (var h in table.QueryAsync<WebhookEntity>(TableKeys.PrefixFilter(workspaceId, RowPrefix), cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            if (h.Enabled)
            {
                hooks.Add(h);
            }
        }

        return hooks;
    }

    /// <summary>The subscription's row (with its secrets), or null.</summary>
    public async Task<WebhookEntity?> FindAsync(string workspaceId, string id, CancellationToken cancellationToken = default)
    {
        if (!IsId(id))
        {
            return null;
        }

        var table = await TableAsync(cancellationToken).ConfigureAwait(false);
        var found = await table.GetEntityIfExistsAsync<WebhookEntity>(workspaceId, Row(id), cancellationToken: cancellationToken).ConfigureAwait(false);
        return found.HasValue ? found.Value : null;
    }

    public async Task<Outcome<WebhookView>> GetAsync(string workspaceId, string id, CancellationToken cancellationToken = default)
    {
        var hook = FindAsync(workspaceId, id, cancellationToken);
        var health = HealthAsync(workspaceId, id, cancellationToken);
        return await hook.ConfigureAwait(false) is { } h ? WebhookView.From(h, await health.ConfigureAwait(false), clock.GetUtcNow()) : NotFound();
    }

    public async Task<Outcome<WebhookView>> UpdateAsync(string workspaceId, string id, WebhookPatch patch, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(patch);
        if (Problems(patch.Url, patch.Events, patch.Name, urlRequired: false) is { } problems)
        {
            return ApiError.Validation(problems);
        }

        var changed = await ChangeAsync(workspaceId, id, h =>
        {
            h.Name = patch.Name ?? h.Name;
            h.Url = patch.Url ?? h.Url;
            h.Events = patch.Events is { } events ? [.. events.Distinct(StringComparer.Ordinal)] : h.Events;
            h.Enabled = patch.Enabled ?? h.Enabled;
        }, cancellationToken).ConfigureAwait(false);
        return changed is null ? NotFound() : WebhookView.From(changed, await HealthAsync(workspaceId, id, cancellationToken).ConfigureAwait(false), clock.GetUtcNow());
    }

    /// <summary>A new secret; the old one keeps signing beside it for <see cref="RotationOverlap"/>.</summary>
    public async Task<Outcome<WebhookWithSecret>> RotateSecretAsync(string workspaceId, string id, CancellationToken cancellationToken = default)
    {
        var now = clock.GetUtcNow();
        var changed = await ChangeAsync(workspaceId, id, h =>
        {
            h.PreviousSecret = h.Secret;
            h.PreviousSecretUntil = now + RotationOverlap;
            h.Secret = WebhookSignature.NewSecret();
        }, cancellationToken).ConfigureAwait(false);
        return changed is null
            ? NotFound()
            : WebhookWithSecret.From(WebhookView.From(changed, await HealthAsync(workspaceId, id, cancellationToken).ConfigureAwait(false), now), changed.Secret);
    }

    /// <summary>Unsubscribes: its deliveries still waiting are dropped when their turn comes. False if there was none.</summary>
    public async Task<bool> DeleteAsync(string workspaceId, string id, CancellationToken cancellationToken = default)
    {
        if (!IsId(id))
        {
            return false;
        }

        var table = await TableAsync(cancellationToken).ConfigureAwait(false);

        // The SDK answers a delete of a missing row with its 404 response rather than an exception.
        var deleted = await table.DeleteEntityAsync(workspaceId, Row(id), ETag.All, cancellationToken).ConfigureAwait(false);
        if (deleted.Status == 404)
        {
            return false;
        }

        await table.DeleteEntityAsync(workspaceId, HealthRow(id), ETag.All, cancellationToken).ConfigureAwait(false);
        return true;
    }

    public async Task<WebhookHealthEntity?> HealthAsync(string workspaceId, string id, CancellationToken cancellationToken = default)
    {
        var table = await TableAsync(cancellationToken).ConfigureAwait(false);
        var found = await table.GetEntityIfExistsAsync<WebhookHealthEntity>(workspaceId, HealthRow(id), cancellationToken: cancellationToken).ConfigureAwait(false);
        return found.HasValue ? found.Value : null;
    }

    /// <summary>
    /// Records how an event's delivery went for the subscription's health: a success clears the count of failed events in
    /// a row (written only when there is something to clear); a failure counts when it is its event's first
    /// (<paramref name="newFailedEvent"/>), so retries of one event count once.
    /// </summary>
    public async Task RecordHealthAsync(string workspaceId, string id, bool newFailedEvent, WebhookAttemptResult result, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(result);
        var now = clock.GetUtcNow();
        if (result.Succeeded && _healthySince.TryGetValue((workspaceId, id), out var recorded) && recorded > now.AddMinutes(-1))
        {
            // This instance recorded a success within the minute and no failure since: nothing to clear.
            return;
        }

        _healthySince.TryRemove((workspaceId, id), out _);
        var table = await TableAsync(cancellationToken).ConfigureAwait(false);
        await OptimisticRetry.RunAsync<bool>(async _ =>
        {
            var found = await table.GetEntityIfExistsAsync<WebhookHealthEntity>(workspaceId, HealthRow(id), cancellationToken: cancellationToken).ConfigureAwait(false);
            var health = found.HasValue ? found.Value! : new WebhookHealthEntity { PartitionKey = workspaceId, RowKey = HealthRow(id) };
            if (result.Succeeded)
            {
                if (found.HasValue && health.ConsecutiveFailures == 0 && health.LastSuccessAt > now.AddMinutes(-1))
                {
                    return true;
                }

                health.ConsecutiveFailures = 0;
                health.LastSuccessAt = now;
            }
            else
            {
                health.ConsecutiveFailures += newFailedEvent ? 1 : 0;
                health.LastFailureAt = now;
                health.LastError = Cut(result.Error ?? "Failed.", 500);
            }

            if (found.HasValue)
            {
                await table.UpdateEntityAsync(health, health.ETag, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                await table.AddEntityAsync(health, cancellationToken).ConfigureAwait(false);
            }

            return true;
        }, gaveUp: () => false, cancellationToken: cancellationToken).ConfigureAwait(false);
        if (result.Succeeded)
        {
            _healthySince[(workspaceId, id)] = now;
        }
    }

    private async Task<WebhookEntity?> ChangeAsync(string workspaceId, string id, Action<WebhookEntity> change, CancellationToken cancellationToken)
    {
        if (!IsId(id))
        {
            return null;
        }

        var table = await TableAsync(cancellationToken).ConfigureAwait(false);
        return await OptimisticRetry.RunAsync<WebhookEntity?>(async _ =>
        {
            var found = await table.GetEntityIfExistsAsync<WebhookEntity>(workspaceId, Row(id), cancellationToken: cancellationToken).ConfigureAwait(false);
            if (!found.HasValue)
            {
                return null;
            }

            var after = found.Value!.Clone();
            change(after);
            after.UpdatedAt = clock.GetUtcNow();
            var response = await table.UpdateEntityAsync(after, found.Value.ETag, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
            after.ETag = response.Headers.ETag ?? default;
            return after;
        }, gaveUp: () => throw new InvalidOperationException($"Webhook {id} kept changing under every attempt to change it."), cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    private Task<TableClient> TableAsync(CancellationToken cancellationToken) => storage.GetTableAsync(Table, cancellationToken);

    private static ApiError NotFound() => ApiError.NotFound("No such webhook in this workspace.");

    private static string Cut(string text, int max = 60) => text.Length <= max ? text : text[..max] + "…";
}
