using System.Text.Json;
using Aisoule.Core.Json;
using Aisoule.Core.Storage;

namespace Aisoule.Core.Campaigns;

/// <summary>
/// Every change of a campaign's state is one of the named transitions here, each an ETag-guarded write of the campaign
/// row through <see cref="CampaignStore.ChangeAsync"/>, with its outbox event in the same transaction where it has one
/// (<c>campaign.started</c> per round, <c>campaign.paused</c> per pause, <c>campaign.completed</c> per round, also
/// for a cancelled or failed campaign). The request, the fan-out and the watch timer decide when; none writes the row itself.
/// <code>
/// draft → scheduled ─Start→ running ⇄ paused        running ─Complete→ completed ─Retry→ running
///   └──────────── Arm ──────→ running                 any unfinished ─Cancel→ cancelled; running ─Fail→ failed
/// </code>
/// </summary>
public sealed class CampaignLifecycle(CampaignStore store, TimeProvider clock)
{
    private static string Key(string id, string what, int number) => OutboxEvent.Prefix + "campaign_" + id + "_" + what + "_" + number.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The campaign as its events carry it: the API's view with its stats as they are when it happens.</summary>
    private async Task<Func<CampaignEntity, OutboxEvent?>> EventAsync(string workspaceId, string id, string name, string what, Func<CampaignEntity, int> number, CancellationToken cancellationToken)
    {
        var stats = await store.StatsAsync(workspaceId, id, cancellationToken).ConfigureAwait(false);
        var now = clock.GetUtcNow();
        return c => OutboxEvent.Create(workspaceId, Key(id, what, number(c)), name, CampaignView.From(c, stats), now);
    }

    /// <summary>scheduled (or an armed draft) → running, once across instances (the ETag decides).</summary>
    public async Task<(bool Changed, CampaignEntity? Campaign)> StartAsync(string workspaceId, string id, bool dueOnly, CancellationToken cancellationToken = default)
    {
        var now = clock.GetUtcNow();
        var started = await EventAsync(workspaceId, id, "campaign.started", "started", c => c.Round, cancellationToken).ConfigureAwait(false);
        return await store.ChangeAsync(workspaceId, id, c =>
        {
            if (c.Status != CampaignStatus.Scheduled || (dueOnly && c.ScheduledAt > now))
            {
                return false;
            }

            c.Status = CampaignStatus.Running;
            c.StartedAt = now;
            return true;
        }, started, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>A draft or scheduled campaign gets a new start time (now or past: it starts now).</summary>
    public Task<(bool Changed, CampaignEntity? Campaign)> RescheduleAsync(string workspaceId, string id, DateTimeOffset at, CancellationToken cancellationToken = default) =>
        store.ChangeAsync(workspaceId, id, c =>
        {
            if (c.Status is not (CampaignStatus.Scheduled or CampaignStatus.Draft))
            {
                return false;
            }

            c.Status = CampaignStatus.Scheduled;
            c.ScheduledAt = at;
            return true;
        }, cancellationToken: cancellationToken);

    /// <summary>The recipient list is written: the audience is frozen.</summary>
    public Task<(bool Changed, CampaignEntity? Campaign)> PlannedAsync(string workspaceId, string id, IReadOnlyDictionary<string, long> skips, string? tier, int? cap, CancellationToken cancellationToken = default) =>
        store.ChangeAsync(workspaceId, id, c =>
        {
            if (c.Planned)
            {
                return false;
            }

            c.Planned = true;
            c.SkipsJson = JsonSerializer.Serialize(skips);
            c.Tier = tier;
            c.TierCap = cap;
            return true;
        }, cancellationToken: cancellationToken);

    /// <summary>running (or paused by the messaging limit) → paused by the caller; never resumes by itself.</summary>
    public async Task<(bool Changed, CampaignEntity? Campaign)> PauseAsync(string workspaceId, string id, string reason, DateTimeOffset? resumeAt, CancellationToken cancellationToken = default)
    {
        var paused = await EventAsync(workspaceId, id, "campaign.paused", "paused", c => c.PauseCount, cancellationToken).ConfigureAwait(false);
        return await store.ChangeAsync(workspaceId, id, c =>
        {
            var fromRunning = c.Status == CampaignStatus.Running;
            var overrideLimit = reason == PauseReasons.Manual && c.Status == CampaignStatus.Paused && c.PauseReason == PauseReasons.MessagingLimit;
            if (!fromRunning && !overrideLimit)
            {
                return false;
            }

            c.Status = CampaignStatus.Paused;
            c.PauseReason = reason;
            c.ResumeAt = resumeAt;
            c.PauseCount++;
            return true;
        }, paused, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>paused → running: by the caller (any pause), or by the timer for a messaging-limit pause whose time has come.</summary>
    public Task<(bool Changed, CampaignEntity? Campaign)> ResumeAsync(string workspaceId, string id, bool limitOnly, CancellationToken cancellationToken = default)
    {
        var now = clock.GetUtcNow();
        return store.ChangeAsync(workspaceId, id, c =>
        {
            if (c.Status != CampaignStatus.Paused || (limitOnly && (c.PauseReason != PauseReasons.MessagingLimit || c.ResumeAt > now)))
            {
                return false;
            }

            c.Status = CampaignStatus.Running;
            c.PauseReason = null;
            c.ResumeAt = null;
            return true;
        }, cancellationToken: cancellationToken);
    }

    /// <summary>Any unfinished campaign → cancelled: nothing more is sent; what is still queued or pending is cancelled.</summary>
    public async Task<(bool Changed, CampaignEntity? Campaign)> CancelAsync(string workspaceId, string id, CancellationToken cancellationToken = default)
    {
        var now = clock.GetUtcNow();
        var completed = await EventAsync(workspaceId, id, "campaign.completed", "completed", c => c.Round, cancellationToken).ConfigureAwait(false);
        return await store.ChangeAsync(workspaceId, id, c =>
        {
            if (CampaignStatus.IsFinal(c.Status))
            {
                return false;
            }

            c.Status = CampaignStatus.Cancelled;
            c.PauseReason = null;
            c.ResumeAt = null;
            c.RetryCategoriesJson = null;
            c.CompletedAt = now;
            return true;
        }, completed, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>running → completed: every recipient of the round has its outcome (nothing pending or queued).</summary>
    public async Task<(bool Changed, CampaignEntity? Campaign)> CompleteAsync(string workspaceId, string id, CancellationToken cancellationToken = default)
    {
        var now = clock.GetUtcNow();
        var completed = await EventAsync(workspaceId, id, "campaign.completed", "completed", c => c.Round, cancellationToken).ConfigureAwait(false);
        return await store.ChangeAsync(workspaceId, id, c =>
        {
            if (c.Status != CampaignStatus.Running || c.RetryCategoriesJson is not null)
            {
                return false;
            }

            c.Status = CampaignStatus.Completed;
            c.CompletedAt = now;
            return true;
        }, completed, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>running → failed, before anything was sent (the account is gone, the template no longer approved).</summary>
    public async Task<(bool Changed, CampaignEntity? Campaign)> FailAsync(string workspaceId, string id, string code, string reason, CancellationToken cancellationToken = default)
    {
        var now = clock.GetUtcNow();
        var completed = await EventAsync(workspaceId, id, "campaign.completed", "completed", c => c.Round, cancellationToken).ConfigureAwait(false);
        return await store.ChangeAsync(workspaceId, id, c =>
        {
            if (CampaignStatus.IsFinal(c.Status))
            {
                return false;
            }

            c.Status = CampaignStatus.Failed;
            c.FailureCode = code;
            c.FailureReason = reason;
            c.CompletedAt = now;
            return true;
        }, completed, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// A retry of <paramref name="categories"/>: a new round, single-flight (refused while another retry is being
    /// prepared). A completed campaign runs again; a paused one stays paused.
    /// </summary>
    public async Task<(bool Changed, CampaignEntity? Campaign)> BeginRetryAsync(string workspaceId, string id, IReadOnlyList<string> categories, CancellationToken cancellationToken = default)
    {
        var started = await EventAsync(workspaceId, id, "campaign.started", "started", c => c.Round, cancellationToken).ConfigureAwait(false);
        return await store.ChangeAsync(workspaceId, id, c =>
        {
            if (c.RetryCategoriesJson is not null || c.Status is not (CampaignStatus.Running or CampaignStatus.Paused or CampaignStatus.Completed) || !c.Planned)
            {
                return false;
            }

            c.Round++;
            c.RetryCategoriesJson = JsonSerializer.Serialize(categories, AisouleJson.Options);
            if (c.Status == CampaignStatus.Completed)
            {
                c.Status = CampaignStatus.Running;
                c.CompletedAt = null;
            }

            return true;
        }, c => c.Status == CampaignStatus.Running ? started(c) : null, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The retry's recipients are pending again: the campaign may complete once they are sent.</summary>
    public Task<(bool Changed, CampaignEntity? Campaign)> RetryPreparedAsync(string workspaceId, string id, int round, CancellationToken cancellationToken = default) =>
        store.ChangeAsync(workspaceId, id, c =>
        {
            if (c.Round != round || c.RetryCategoriesJson is null)
            {
                return false;
            }

            c.RetryCategoriesJson = null;
            return true;
        }, cancellationToken: cancellationToken);
}
