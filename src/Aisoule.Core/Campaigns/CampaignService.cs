using System.Text.Json;
using Aisoule.Core.Accounts;
using Aisoule.Core.Messaging.Sending;
using Aisoule.Core.Results;
using Aisoule.Core.Storage;
using Azure.Data.Tables;

namespace Aisoule.Core.Campaigns;

/// <summary>A checked <c>POST /campaigns</c> body: the shape is valid; the rules are the service's.</summary>
public sealed record CampaignDraft(string Name, string? AccountId, string TemplateName, string TemplateLanguage, JsonElement? Components, Audience Audience, DateTimeOffset? ScheduledAt, bool DryRun, bool Draft);

/// <summary>
/// <c>/campaigns</c> (spec §6): create (or plan, for a dry run), read, list, and the caller's transitions. The work
/// itself is the steps' (<see cref="CampaignFanout"/>) and the watch timer's (<see cref="CampaignWatcher"/>).
/// </summary>
public sealed class CampaignService(
    CampaignStore store,
    CampaignLifecycle lifecycle,
    CampaignPlanner planner,
    CampaignChecks checks,
    CampaignSteps steps,
    WhatsAppAccountService accounts,
    TimeProvider clock)
{
    /// <summary>The most a campaign's components (with their expressions) may take as stored.</summary>
    public const int MaxComponentsChars = 16_000;

    public async Task<Outcome<(object Body, bool Created, bool Replayed)>> CreateAsync(string workspaceId, CampaignDraft draft, string? idempotencyKey, ReadOnlyMemory<byte> rawBody, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(draft);
        var keyHash = idempotencyKey is null ? null : IdempotencyStore.HashKey(idempotencyKey);
        var bodyHash = IdempotencyStore.HashBody(rawBody.Span);
        if (keyHash is not null && !draft.DryRun && await ReplayAsync(workspaceId, keyHash, bodyHash, cancellationToken).ConfigureAwait(false) is { } replay)
        {
            return replay;
        }

        var account = await accounts.ResolveAsync(workspaceId, draft.AccountId, cancellationToken).ConfigureAwait(false);
        if (!account.Succeeded)
        {
            return account.Error!;
        }

        if (account.Value!.Status != AccountStatus.Connected)
        {
            return new ApiError(ErrorCodes.AccountDisconnected, "Account disconnected");
        }

        var componentsJson = draft.Components is { } c ? c.GetRawText() : null;
        var template = await checks.CheckAsync(workspaceId, account.Value, draft.TemplateName, draft.TemplateLanguage, componentsJson, cancellationToken).ConfigureAwait(false);
        if (!template.Succeeded)
        {
            return template.Error!;
        }

        var now = clock.GetUtcNow();
        var startNow = !draft.Draft && (draft.ScheduledAt is not { } at || at <= now);
        var id = CampaignKeys.NewId(now);
        var campaign = new CampaignEntity
        {
            PartitionKey = workspaceId,
            RowKey = CampaignKeys.Campaign(id),
            Id = id,
            Name = draft.Name,
            AccountId = account.Value.RowKey,
            PhoneNumberId = account.Value.PhoneNumberId,
            WabaId = account.Value.WabaId,
            TemplateName = template.Value!.Name,
            TemplateLanguage = template.Value.Language,
            TemplateCategory = template.Value.Category,
            ComponentsJson = componentsJson,
            Personalised = draft.Components is { } p && ContactVariables.Uses(p),
            AudienceJson = draft.Audience.ToJson(),
            Status = draft.Draft ? CampaignStatus.Draft : startNow ? CampaignStatus.Running : CampaignStatus.Scheduled,
            ScheduledAt = draft.ScheduledAt is { } s && s > now ? s : null,
            StartedAt = startNow ? now : null,
            CreatedAt = now,
        };

        if (draft.DryRun)
        {
            return (await DryRunAsync(workspaceId, campaign, account.Value, now, cancellationToken).ConfigureAwait(false), false, false);
        }

        var record = keyHash is null ? null : new TableEntity(workspaceId, CampaignKeys.IdempotencyPrefix + keyHash) { ["BodyHash"] = bodyHash, ["CampaignId"] = id, ["CreatedAt"] = now };
        if (campaign.Status != CampaignStatus.Draft)
        {
            await store.SetActiveAsync(workspaceId, id, true, cancellationToken).ConfigureAwait(false);
        }

        var started = startNow ? OutboxEvent.Create(workspaceId, OutboxEvent.Prefix + "campaign_" + id + "_started_0", "campaign.started", CampaignView.From(campaign, CampaignStats.From(new Dictionary<string, long>())), now) : null;
        if (!await store.InsertAsync(campaign, record, started, cancellationToken).ConfigureAwait(false))
        {
            // The key was taken by a concurrent request meanwhile: answer as it says.
            await store.SetActiveAsync(workspaceId, id, false, cancellationToken).ConfigureAwait(false);
            return keyHash is not null && await ReplayAsync(workspaceId, keyHash, bodyHash, cancellationToken).ConfigureAwait(false) is { } raced
                ? raced
                : new ApiError(ErrorCodes.Conflict, "The campaign could not be stored; try again.");
        }

        if (startNow)
        {
            // If this write is lost, the watch timer starts the steps of a running campaign that has none.
            await TryEnqueueAsync(workspaceId, id).ConfigureAwait(false);
        }

        return (CampaignView.From(campaign, CampaignStats.From(new Dictionary<string, long>())), true, false);
    }

    /// <summary>An earlier create under this Idempotency-Key: its campaign for the same body, 409 for another (in its 24 hours).</summary>
    private async Task<Outcome<(object Body, bool Created, bool Replayed)>?> ReplayAsync(string workspaceId, string keyHash, string bodyHash, CancellationToken cancellationToken)
    {
        var table = await store.TableAsync(cancellationToken).ConfigureAwait(false);
        var found = await table.GetEntityIfExistsAsync<TableEntity>(workspaceId, CampaignKeys.IdempotencyPrefix + keyHash, cancellationToken: cancellationToken).ConfigureAwait(false);
        if (!found.HasValue)
        {
            return null;
        }

        var record = found.Value!;
        if (clock.GetUtcNow() - (record.GetDateTimeOffset("CreatedAt") ?? default) > IdempotencyStore.Window)
        {
            await table.DeleteEntityAsync(workspaceId, record.RowKey, record.ETag, cancellationToken).ConfigureAwait(false);
            return null;
        }

        if (record.GetString("BodyHash") != bodyHash)
        {
            return new ApiError(ErrorCodes.IdempotencyKeyReused, "This Idempotency-Key was already used with a different request body in the last 24 hours.");
        }

        var view = await GetAsync(workspaceId, record.GetString("CampaignId") ?? "", cancellationToken).ConfigureAwait(false);
        return view.Succeeded ? (view.Value!, true, true) : view.Error!;
    }

    private async Task<CampaignPlanView> DryRunAsync(string workspaceId, CampaignEntity campaign, WhatsAppAccountEntity account, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var plan = await planner.ResolveAsync(workspaceId, campaign, now, cancellationToken).ConfigureAwait(false);
        var (tier, cap) = await checks.MessagingLimitAsync(account, cancellationToken).ConfigureAwait(false);
        var sendable = plan.Sendable;
        var outOfWindow = plan.Recipients.LongCount(r => r.Status == RecipientStatus.Pending && !(now - r.LastInboundAt < SendRules.ServiceWindow));
        var used = cap is null ? 0 : await checks.UsedAsync(account, now, cancellationToken).ConfigureAwait(false);
        long? headroom = cap is { } c ? Math.Max(0, c - used) : null;
        var mps = Math.Max(1, account.ThroughputMps);
        var seconds = Math.Round(sendable * (1 + Messaging.Dispatch.ThroughputGate.Tolerance.TotalSeconds) / mps, 1);
        return new CampaignPlanView(plan.Recipients.Count, sendable, plan.Recipients.Count - sendable, plan.Skips, mps, seconds,
            new MessagingLimitPlan(tier, cap, used, headroom, outOfWindow, headroom is { } h && outOfWindow > h));
    }

    public async Task<Outcome<CampaignView>> GetAsync(string workspaceId, string id, CancellationToken cancellationToken = default)
    {
        if (await store.FindAsync(workspaceId, id, cancellationToken).ConfigureAwait(false) is not { } campaign)
        {
            return ApiError.NotFound("No campaign with this id.");
        }

        return CampaignView.From(campaign, await store.StatsAsync(workspaceId, id, cancellationToken).ConfigureAwait(false));
    }

    public async Task<CampaignPage> ListAsync(string workspaceId, int page, int perPage, CancellationToken cancellationToken = default)
    {
        var (rows, total) = await store.ListAsync(workspaceId, page, perPage, cancellationToken).ConfigureAwait(false);
        var counts = await store.CountsOfAsync(workspaceId, [.. rows.Select(r => r.Id)], cancellationToken).ConfigureAwait(false);
        return new CampaignPage([.. rows.Select(r => CampaignView.From(r, CampaignStats.From(counts[r.Id])))], total, page, perPage);
    }

    public Task<Outcome<CampaignView>> PauseAsync(string workspaceId, string id, CancellationToken cancellationToken = default) =>
        TransitionAsync(workspaceId, id, c => c.Status == CampaignStatus.Paused && c.PauseReason == PauseReasons.Manual,
            () => lifecycle.PauseAsync(workspaceId, id, PauseReasons.Manual, null, cancellationToken), wakes: false, "Only a running campaign can be paused.", cancellationToken);

    public Task<Outcome<CampaignView>> ResumeAsync(string workspaceId, string id, CancellationToken cancellationToken = default) =>
        // Not idempotent, unlike pause and cancel: resuming a campaign that is not paused (running included) is 409, as the README says.
        TransitionAsync(workspaceId, id, _ => false,
            () => lifecycle.ResumeAsync(workspaceId, id, limitOnly: false, cancellationToken), wakes: true, "Only a paused campaign can be resumed.", cancellationToken);

    public Task<Outcome<CampaignView>> CancelAsync(string workspaceId, string id, CancellationToken cancellationToken = default) =>
        TransitionAsync(workspaceId, id, c => c.Status == CampaignStatus.Cancelled,
            () => lifecycle.CancelAsync(workspaceId, id, cancellationToken), wakes: true, "A completed or failed campaign cannot be cancelled.", cancellationToken);

    public async Task<Outcome<CampaignView>> RescheduleAsync(string workspaceId, string id, DateTimeOffset at, CancellationToken cancellationToken = default)
    {
        var now = clock.GetUtcNow();
        if (await store.FindAsync(workspaceId, id, cancellationToken).ConfigureAwait(false) is { Status: CampaignStatus.Draft or CampaignStatus.Scheduled })
        {
            // Marked first: whatever happens next, the watch timer sees the campaign it will have to start.
            await store.SetActiveAsync(workspaceId, id, true, cancellationToken).ConfigureAwait(false);
        }

        var outcome = await TransitionAsync(workspaceId, id, _ => false, () => lifecycle.RescheduleAsync(workspaceId, id, at > now ? at : now, cancellationToken), wakes: false,
            "Only a draft or scheduled campaign can be rescheduled; this one has started.", cancellationToken).ConfigureAwait(false);
        if (outcome.Succeeded)
        {
            await store.SetActiveAsync(workspaceId, id, true, cancellationToken).ConfigureAwait(false);
            if (at <= now)
            {
                // The watch timer may start it first (it is due and marked active): either way it runs, and the answer says so.
                if ((await lifecycle.StartAsync(workspaceId, id, dueOnly: false, cancellationToken).ConfigureAwait(false)).Changed)
                {
                    await TryEnqueueAsync(workspaceId, id).ConfigureAwait(false);
                }

                return await GetAsync(workspaceId, id, cancellationToken).ConfigureAwait(false);
            }
        }

        return outcome;
    }

    public async Task<Outcome<CampaignView>> RetryAsync(string workspaceId, string id, IReadOnlyList<string> categories, CancellationToken cancellationToken = default)
    {
        if (await store.FindAsync(workspaceId, id, cancellationToken).ConfigureAwait(false) is not { } current)
        {
            return ApiError.NotFound("No campaign with this id.");
        }

        if (current.RetryCategoriesJson is not null)
        {
            return new ApiError(ErrorCodes.CampaignBusy, "A retry of this campaign is being prepared; try again when it has started.");
        }

        await store.SetActiveAsync(workspaceId, id, true, cancellationToken).ConfigureAwait(false);
        var (changed, after) = await lifecycle.BeginRetryAsync(workspaceId, id, categories, cancellationToken).ConfigureAwait(false);
        if (!changed)
        {
            return after?.RetryCategoriesJson is not null
                ? new ApiError(ErrorCodes.CampaignBusy, "A retry of this campaign is being prepared; try again when it has started.")
                : new ApiError(ErrorCodes.InvalidCampaignState, "Only a running, paused or completed campaign that has planned its recipients can be retried.");
        }

        // Again after the change: a step that completed the previous round may have unmarked it meanwhile.
        await store.SetActiveAsync(workspaceId, id, true, cancellationToken).ConfigureAwait(false);
        await TryEnqueueAsync(workspaceId, id).ConfigureAwait(false);
        return CampaignView.From(after!, await store.StatsAsync(workspaceId, id, cancellationToken).ConfigureAwait(false));
    }

    public async Task<Outcome<RecipientPage>> RecipientsAsync(string workspaceId, string id, string? status, string? category, int limit, string? cursor, CancellationToken cancellationToken = default)
    {
        if (await store.FindAsync(workspaceId, id, cancellationToken).ConfigureAwait(false) is null)
        {
            return ApiError.NotFound("No campaign with this id.");
        }

        return await store.RecipientsAsync(workspaceId, id, status, category, limit, cursor, cancellationToken).ConfigureAwait(false);
    }

    private async Task<Outcome<CampaignView>> TransitionAsync(string workspaceId, string id, Func<CampaignEntity, bool> alreadyThere, Func<Task<(bool Changed, CampaignEntity? Campaign)>> change, bool wakes, string refusal, CancellationToken cancellationToken)
    {
        if (await store.FindAsync(workspaceId, id, cancellationToken).ConfigureAwait(false) is not { } current)
        {
            return ApiError.NotFound("No campaign with this id.");
        }

        if (wakes)
        {
            // Marked first: whatever happens next, the watch timer sees the campaign.
            await store.SetActiveAsync(workspaceId, id, true, cancellationToken).ConfigureAwait(false);
        }

        var (changed, after) = await change().ConfigureAwait(false);
        if (!changed && !(after is not null && alreadyThere(after)))
        {
            return after is null ? ApiError.NotFound("No campaign with this id.") : new ApiError(ErrorCodes.InvalidCampaignState, refusal + $" It is {after.Status}.");
        }

        if (changed && wakes)
        {
            await TryEnqueueAsync(workspaceId, id).ConfigureAwait(false);
        }

        return CampaignView.From(after ?? current, await store.StatsAsync(workspaceId, id, cancellationToken).ConfigureAwait(false));
    }

    private async Task TryEnqueueAsync(string workspaceId, string id)
    {
        try
        {
            await steps.EnqueueAsync(workspaceId, id, null, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is Azure.RequestFailedException || StorageFailures.IsUnavailable(ex))
        {
            // The watch timer restarts the steps of an active campaign that has none.
        }
    }
}
