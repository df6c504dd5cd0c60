using System.Globalization;
using System.Text.Json;
using Aisoule.Core.Accounts;
using Aisoule.Core.Messaging.Dispatch;
using Aisoule.Core.Messaging.Messages;
using Aisoule.Core.Messaging.Sending;
using Aisoule.Core.Storage;
using Aisoule.Core.WhatsApp;
using Azure;
using Azure.Data.Tables;
using Microsoft.Extensions.Logging;

namespace Aisoule.Core.Campaigns;

/// <summary>
/// One step of a campaign (queue <c>campaignsteps</c>, about once a second while it runs), single-flight under the
/// lease on its fan-out row <c>f_{id}</c>: plans the recipient list when the campaign has just started, prepares a
/// retry, cancels what is left of a cancelled one, completes it when nothing is pending or queued, and otherwise
/// releases a window: as many pending recipients as the number can send in the next <see cref="Lead"/> less what is
/// still queued, so the sends queue stays shallow and a pause or cancel has little to undo.
/// </summary>
/// <remarks>
/// A recipient is released by one transaction (<see cref="MessageLifecycle.ReleaseAsync"/>): its row moves
/// <c>pending → queued</c> under its ETag with its message created under the id fixed at plan time, so a recipient
/// gets at most one message per round whatever crashes. The window's message ids are written to the fan-out row
/// before its releases; a step that finds the last window unfinished enqueues its messages again (a duplicate queue
/// message is harmless: only the claim sends).
/// </remarks>
public sealed class CampaignFanout(
    CampaignStore store,
    CampaignLifecycle lifecycle,
    CampaignPlanner planner,
    CampaignSteps steps,
    MessageLifecycle messages,
    MessageStore messageStore,
    SendEnqueuer enqueuer,
    WhatsAppAccountService accounts,
    CampaignChecks templates,
    ThroughputGate gate,
    ReachLedger reach,
    TimeProvider clock,
    ILogger<CampaignFanout> logger)
{
    /// <summary>How much sending a window holds: the number's throughput for this long.</summary>
    public static readonly TimeSpan Lead = TimeSpan.FromSeconds(3);

    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);

    /// <summary>The most recipients one step releases, whatever the number's throughput (3 s at 1,000 msg/s).</summary>
    public const int MaxWindow = 3_000;

    /// <summary>Message ids (28 characters and a comma) per property of the fan-out row: well under a property's 32,768 characters.</summary>
    private const int IdsPerProperty = 1_000;

    /// <summary>
    /// How long a running campaign may have queued recipients and none of them settle before the step looks for
    /// messages whose queue message a dead instance took with it (it stays invisible for the queue's 10-minute lease).
    /// </summary>
    public static readonly TimeSpan Stuck = TimeSpan.FromSeconds(20);

    private static readonly TimeSpan LeaseTime = TimeSpan.FromSeconds(30);

    /// <summary>How often a running campaign's steps read its counts (each read is a query in every message partition).</summary>
    private static readonly TimeSpan Recount = TimeSpan.FromSeconds(5);

    /// <summary>How long one invocation goes on stepping before it hands over to the next queue message.</summary>
    private static readonly TimeSpan StepBudget = TimeSpan.FromSeconds(20);


    public async Task StepAsync(CampaignStep step, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(step);
        var (ws, id) = (step.WorkspaceId, step.CampaignId);
        var campaign = await store.FindAsync(ws, id, cancellationToken).ConfigureAwait(false);
        if (campaign is null)
        {
            return;
        }

        var table = await store.TableAsync(cancellationToken).ConfigureAwait(false);
        var fanout = await TakeLeaseAsync(table, ws, id, cancellationToken).ConfigureAwait(false);
        if (fanout is null)
        {
            return;
        }

        TimeSpan? next = null;
        var progress = new Progress();
        try
        {
            // Steps follow one another inside this invocation for up to StepBudget (each renewing the lease), so the
            // next window does not wait on the queue's polling; then the next invocation carries on.
            var started = clock.GetUtcNow();
            while (true)
            {
                var iteration = clock.GetUtcNow();
                next = await RunAsync(campaign, fanout, table, progress, cancellationToken).ConfigureAwait(false);
                if (next is not { } wait || clock.GetUtcNow() - started >= StepBudget || cancellationToken.IsCancellationRequested)
                {
                    break;
                }

                var left = wait - (clock.GetUtcNow() - iteration);
                if (left > TimeSpan.Zero)
                {
                    await Task.Delay(left, clock, cancellationToken).ConfigureAwait(false);
                }

                if (await store.FindAsync(ws, id, cancellationToken).ConfigureAwait(false) is not { } current)
                {
                    next = null;
                    break;
                }

                campaign = current;
                fanout["LeaseUntil"] = clock.GetUtcNow() + LeaseTime;
                fanout["LastStepAt"] = clock.GetUtcNow();
                try
                {
                    var renewed = await table.UpdateEntityAsync(fanout, fanout.ETag, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
                    fanout.ETag = renewed.Headers.ETag ?? default;
                }
                catch (RequestFailedException ex) when (ex.Status is 412 or 404)
                {
                    // Another step took over: it carries on (the write below fails too, and enqueues nothing).
                    next = null;
                    break;
                }

                next = TimeSpan.Zero;
            }
        }
        finally
        {
            fanout["LeaseUntil"] = clock.GetUtcNow();
            fanout["LastStepAt"] = clock.GetUtcNow();
            try
            {
                await table.UpdateEntityAsync(fanout, fanout.ETag, TableUpdateMode.Replace, CancellationToken.None).ConfigureAwait(false);
            }
            catch (RequestFailedException ex) when (ex.Status is 412 or 404)
            {
                // Another step took over (this one ran past its lease): it carries on.
                next = null;
            }
        }

        if (next is { } delay)
        {
            await steps.EnqueueAsync(ws, id, delay, CancellationToken.None).ConfigureAwait(false);
        }
    }

    /// <summary>The step's work; when the next step should come (null: none, the campaign has nothing left to do here).</summary>
    private async Task<TimeSpan?> RunAsync(CampaignEntity campaign, TableEntity fanout, TableClient table, Progress progress, CancellationToken cancellationToken)
    {
        var (ws, id) = (campaign.PartitionKey, campaign.Id);
        if (campaign.Status is CampaignStatus.Running or CampaignStatus.Paused && !campaign.Planned)
        {
            // The first step after the start plans, even if the campaign was paused meanwhile: the audience is frozen
            // as close to the start as possible. Planning a large audience may take longer than a step's lease, so the
            // lease is renewed while it plans (and lapses as usual if this instance dies).
            using var planning = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var renewing = RenewLeaseAsync(table, fanout, planning.Token);
            try
            {
                campaign = await PlanAsync(campaign, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                await planning.CancelAsync().ConfigureAwait(false);
                await renewing.ConfigureAwait(false);
            }
        }

        if (campaign.Status is CampaignStatus.Running or CampaignStatus.Cancelled && fanout.GetBoolean("WindowDone") == false)
        {
            // The last window was cut short: its messages without a queue message are enqueued (a cancelled campaign's
            // are then cancelled by the dispatcher; nothing else would ever come for them).
            await ReplayWindowAsync(ws, fanout, cancellationToken).ConfigureAwait(false);
        }

        // A running campaign's counts are read every Recount (or when they may have reached the end); in between, the
        // step knows what it released since and assumes its messages settled as fast as between the last two reads (at
        // most the number's rate; half of it before that is known), and each read corrects that.
        var now = clock.GetUtcNow();
        var fresh = campaign.Status != CampaignStatus.Running || campaign.RetryCategoriesJson is not null || progress.Counts is null
            || progress.CountedRound != campaign.Round || now - progress.CountedAt >= Recount || progress.Counts.GetValueOrDefault(RecipientStatus.Pending) - progress.Released <= 0;
        if (fresh)
        {
            var previous = progress.Counts is { } before && progress.CountedRound == campaign.Round ? (Settled: Settled(before), At: progress.CountedAt) : default((long Settled, DateTimeOffset At)?);
            progress.Counts = await store.CountsAsync(ws, id, cancellationToken).ConfigureAwait(false);
            (progress.CountedAt, progress.CountedRound, progress.Released) = (now, campaign.Round, 0);

            // How fast its messages settled since the last read: what the number is really doing, if slower than its rate.
            progress.SettleRate = previous is { } last && now - last.At >= TimeSpan.FromSeconds(1)
                ? Math.Max(0, Settled(progress.Counts) - last.Settled) / (now - last.At).TotalSeconds
                : null;
        }

        var counts = progress.Counts!;
        long Count(string status) => counts.GetValueOrDefault(status);
        if (campaign.Status == CampaignStatus.Cancelled)
        {
            if (Count(RecipientStatus.Pending) > 0)
            {
                await CancelPendingAsync(ws, id, cancellationToken).ConfigureAwait(false);
                return Interval;
            }

            if (Count(RecipientStatus.Queued) == 0)
            {
                await store.SetActiveAsync(ws, id, false, cancellationToken).ConfigureAwait(false);
                return null;
            }

            // Queued messages are cancelled by the dispatcher as their queue messages come.
            if (IsStuck(fanout, counts.Values.Sum() - Count(RecipientStatus.Queued), Count(RecipientStatus.Queued)))
            {
                await RequeueStuckAsync(ws, id, cancellationToken).ConfigureAwait(false);
            }

            return Interval * 5;
        }

        if (campaign.Status != CampaignStatus.Running)
        {
            if (CampaignStatus.IsFinal(campaign.Status))
            {
                await store.SetActiveAsync(ws, id, false, cancellationToken).ConfigureAwait(false);
            }

            return null;
        }

        if (campaign.RetryCategoriesJson is { } categoriesJson)
        {
            await PrepareRetryAsync(campaign, JsonSerializer.Deserialize<List<string>>(categoriesJson) ?? [], cancellationToken).ConfigureAwait(false);
            fanout["Cursors"] = null;
            progress.Ahead?.Reset(null);
            progress.Counts = null;
            return TimeSpan.Zero;
        }

        var account = await accounts.GetRecentAsync(ws, campaign.AccountId, TimeSpan.FromSeconds(5), cancellationToken).ConfigureAwait(false);
        var mps = Math.Max(1, account?.ThroughputMps ?? 80);
        var pending = Count(RecipientStatus.Pending) - progress.Released;
        var queued = Math.Max(0, Count(RecipientStatus.Queued) + progress.Released - (long)(Math.Min(mps, progress.SettleRate ?? mps / 2.0) * (now - progress.CountedAt).TotalSeconds));
        if (fresh && account is { Status: AccountStatus.Connected } && IsStuck(fanout, counts.Values.Sum() - pending - queued, queued))
        {
            await RequeueStuckAsync(ws, id, cancellationToken).ConfigureAwait(false);
        }

        if (pending + queued == 0)
        {
            var (completed, _) = await lifecycle.CompleteAsync(ws, id, cancellationToken).ConfigureAwait(false);
            if (completed)
            {
                await store.SetActiveAsync(ws, id, false, cancellationToken).ConfigureAwait(false);

                // A retry may have begun between the completion and the unmarking (its own step found this one's
                // lease and left): then it is marked again and this chain carries on for it.
                if (await store.FindAsync(ws, id, cancellationToken).ConfigureAwait(false) is { } current && !CampaignStatus.IsFinal(current.Status))
                {
                    await store.SetActiveAsync(ws, id, true, cancellationToken).ConfigureAwait(false);
                    return Interval;
                }

                return null;
            }

            return Interval;
        }

        var window = Math.Min(MaxWindow, (int)Math.Ceiling(mps * Lead.TotalSeconds)) - (int)Math.Min(queued, int.MaxValue);
        if (pending <= 0 || window <= 0)
        {
            return Interval;
        }

        // Meta asked the number to slow down (130429): release nothing until its schedule is free again.
        if (await gate.ScheduledUntilAsync(campaign.PhoneNumberId, cancellationToken).ConfigureAwait(false) is { } until && until > clock.GetUtcNow() + Interval)
        {
            return Interval;
        }

        if (progress.Ahead is null || progress.Round != campaign.Round)
        {
            // Read ahead for about a step's budget of sending, a page in each partition.
            progress.Ahead ??= new Lookahead((int)Math.Ceiling(mps * StepBudget.TotalSeconds / Messaging.Messages.MessageKeys.Partitions));
            progress.Ahead.Reset(fanout.GetString("Cursors"));
            progress.Round = campaign.Round;
        }

        var picked = await progress.Ahead.TakeAsync(await store.MessagesAsync(cancellationToken).ConfigureAwait(false), ws, id, window, cancellationToken).ConfigureAwait(false);
        if (picked.Count == 0)
        {
            // The cursors passed every pending row (some became pending again): look from the start next time.
            fanout["Cursors"] = null;
            progress.Ahead.Reset(null);
            return Interval;
        }

        picked = await WithinLimitAsync(campaign, picked, cancellationToken).ConfigureAwait(false);
        if (picked.Count == 0)
        {
            fanout["Cursors"] = null;
            progress.Ahead.Reset(null);
            return null;
        }

        // The window's messages are named before any of them can exist, so a crash in the middle is finished by the next step.
        WriteWindow(fanout, picked.Select(r => r.MessageId));
        fanout["WindowDone"] = false;
        fanout["Cursors"] = progress.Ahead.Cursors();
        var saved = await table.UpdateEntityAsync(fanout, fanout.ETag, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
        fanout.ETag = saved.Headers.ETag ?? default;

        await ReleaseAsync(campaign, picked, cancellationToken).ConfigureAwait(false);
        progress.Released += picked.Count;
        fanout["WindowDone"] = true;
        return Interval;
    }

    /// <summary>What one invocation's steps carry from one to the next: the counts last read, what was released since, what was read ahead.</summary>
    private sealed class Progress
    {
        public Dictionary<string, long>? Counts { get; set; }

        public DateTimeOffset CountedAt { get; set; }

        public int CountedRound { get; set; }

        public long Released { get; set; }

        /// <summary>Recipients settled per second between the last two reads of the counts (null: not known yet).</summary>
        public double? SettleRate { get; set; }

        public int Round { get; set; } = -1;

        public Lookahead? Ahead { get; set; }
    }

    /// <summary>Moves the lease on by <see cref="LeaseTime"/> every third of it until <paramref name="stop"/>; the row keeps its latest ETag.</summary>
    private async Task RenewLeaseAsync(TableClient table, TableEntity fanout, CancellationToken stop)
    {
        try
        {
            while (true)
            {
                await Task.Delay(LeaseTime / 3, clock, stop).ConfigureAwait(false);
                fanout["LeaseUntil"] = clock.GetUtcNow() + LeaseTime;
                var renewed = await table.UpdateEntityAsync(fanout, fanout.ETag, TableUpdateMode.Replace, stop).ConfigureAwait(false);
                fanout.ETag = renewed.Headers.ETag ?? default;
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
        catch (RequestFailedException)
        {
            // Lost the lease (or storage failed): the step's own last write tells it so.
        }
    }

    /// <summary>Recipients no longer pending or queued.</summary>
    private static long Settled(Dictionary<string, long> counts) =>
        counts.Where(c => c.Key is not (RecipientStatus.Pending or RecipientStatus.Queued)).Sum(c => c.Value);

    private static string[] NewCursors() => [.. Enumerable.Repeat("", Messaging.Messages.MessageKeys.Partitions)];

    /// <summary>Takes the fan-out row's lease (inserting the row the first time); null when another step holds it.</summary>
    private async Task<TableEntity?> TakeLeaseAsync(TableClient table, string ws, string id, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var found = await table.GetEntityIfExistsAsync<TableEntity>(ws, CampaignKeys.Fanout(id), cancellationToken: cancellationToken).ConfigureAwait(false);
        var row = found.HasValue ? found.Value! : new TableEntity(ws, CampaignKeys.Fanout(id));
        if (row.GetDateTimeOffset("LeaseUntil") is { } until && until > now)
        {
            return null;
        }

        row["LeaseUntil"] = now + LeaseTime;
        try
        {
            var response = found.HasValue
                ? await table.UpdateEntityAsync(row, row.ETag, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false)
                : await table.AddEntityAsync(row, cancellationToken).ConfigureAwait(false);
            row.ETag = response.Headers.ETag ?? default;
            return row;
        }
        catch (RequestFailedException ex) when (ex.Status is 409 or 412)
        {
            return null;
        }
    }

    /// <summary>Resolves and writes the recipient list (or fails the campaign when it can no longer be sent).</summary>
    private async Task<CampaignEntity> PlanAsync(CampaignEntity campaign, CancellationToken cancellationToken)
    {
        var (ws, id) = (campaign.PartitionKey, campaign.Id);
        var account = await accounts.GetAsync(ws, campaign.AccountId, cancellationToken).ConfigureAwait(false);
        if (account is null || account.Status == AccountStatus.Removed)
        {
            return (await lifecycle.FailAsync(ws, id, Results.ErrorCodes.AccountDisconnected, "The campaign's WhatsApp account was removed before it started.", cancellationToken).ConfigureAwait(false)).Campaign ?? campaign;
        }

        var check = await templates.CheckAsync(ws, account, campaign.TemplateName, campaign.TemplateLanguage, campaign.ComponentsJson, cancellationToken).ConfigureAwait(false);
        if (!check.Succeeded)
        {
            return (await lifecycle.FailAsync(ws, id, check.Error!.Code, check.Error.Message, cancellationToken).ConfigureAwait(false)).Campaign ?? campaign;
        }

        var plan = await planner.ResolveAsync(ws, campaign, campaign.StartedAt ?? clock.GetUtcNow(), cancellationToken).ConfigureAwait(false);
        var limit = await templates.MessagingLimitAsync(account, cancellationToken).ConfigureAwait(false);
        await planner.WriteAsync(plan, cancellationToken).ConfigureAwait(false);
        var (_, planned) = await lifecycle.PlannedAsync(ws, id, plan.Skips, limit.Tier, limit.Cap, cancellationToken).ConfigureAwait(false);
        CampaignLog.Planned(logger, id, plan.Recipients.Count, plan.Sendable);
        return planned ?? campaign;
    }

    /// <summary>
    /// The pending recipients one invocation has read ahead, partition by partition: each partition is read a page at a
    /// time from its cursor (the last contact it read), and windows are taken from what was read, round-robin over the
    /// partitions, so a window costs no query while a page lasts. A row read ahead may have changed since (cancelled,
    /// say): its release is then refused by its ETag.
    /// </summary>
    private sealed class Lookahead(int page)
    {
        private readonly Queue<RecipientEntity>[] _read = [.. Enumerable.Range(0, Messaging.Messages.MessageKeys.Partitions).Select(_ => new Queue<RecipientEntity>())];
        private string[] _cursors = NewCursors();
        private string[] _resume = NewCursors();

        /// <summary>Rows read and not yet taken.</summary>
        public int Count => _read.Sum(q => q.Count);

        /// <summary>Every partition read to its end and everything read taken.</summary>
        public bool Exhausted => Count == 0 && _cursors.All(c => c == "~");

        /// <summary>Starts from the fan-out row's cursors (or from the start); what was read ahead is dropped.</summary>
        public void Reset(string? cursorJson)
        {
            _cursors = cursorJson is null ? NewCursors() : JsonSerializer.Deserialize<string[]>(cursorJson) ?? NewCursors();
            _resume = [.. _cursors];
            foreach (var queue in _read)
            {
                queue.Clear();
            }
        }

        /// <summary>
        /// Where each partition stands for the fan-out row: the last contact taken, so a step after a crash reads what
        /// this one had read and not taken again ("~": the partition has nothing after what was taken).
        /// </summary>
        public string Cursors() => JsonSerializer.Serialize(_cursors.Select((cursor, p) => _read[p].Count > 0 ? _resume[p] : cursor));

        /// <summary>Up to <paramref name="window"/> rows, reading a page in each partition whose rows ran out (and that has more).</summary>
        public async Task<List<RecipientEntity>> TakeAsync(TableClient table, string ws, string id, int window, CancellationToken cancellationToken = default)
        {
            var partitions = CampaignKeys.AllPartitions(ws).ToList();
            var share = (int)Math.Ceiling(window / (double)partitions.Count);
            var size = Math.Clamp(Math.Max(page, share), 1, 1000);
            var range = CampaignKeys.RecipientRange(id);
            await Task.WhenAll(partitions.Select(async (partition, p) =>
            {
                if (_read[p].Count >= share || _cursors[p] == "~")
                {
                    return;
                }

                var rows = new List<RecipientEntity>();
                var from = _read[p].Count > 0 ? _read[p].Last().ContactId : _cursors[p];
                var filter = TableKeys.PrefixFilter(partition, range, from.Length > 0 ? CampaignKeys.Recipient(id, from) : null) + " and " + TableClient.CreateQueryFilter($"Status eq {RecipientStatus.Pending}");
                await foreach (var row in table.QueryAsync<RecipientEntity>(filter, maxPerPage: size, cancellationToken: cancellationToken).ConfigureAwait(false))
                {
                    rows.Add(row);
                    if (rows.Count == size)
                    {
                        break;
                    }
                }

                _cursors[p] = rows.Count < size ? "~" : rows[^1].ContactId;
                foreach (var row in rows)
                {
                    _read[p].Enqueue(row);
                }
            })).ConfigureAwait(false);

            var taken = new List<RecipientEntity>(window);
            while (taken.Count < window && _read.Any(q => q.Count > 0))
            {
                for (var p = 0; p < _read.Length; p++)
                {
                    if (taken.Count < window && _read[p].TryDequeue(out var row))
                    {
                        taken.Add(row);
                        _resume[p] = row.ContactId;
                    }
                }
            }

            return taken;
        }
    }

    /// <summary>
    /// The picked recipients the portfolio's messaging limit lets go now. Those inside their 24-hour window do not count;
    /// the others are counted in the reach ledger while it is under the campaign's cap, and wait otherwise. When none
    /// may go, the campaign pauses itself until the oldest counted hour leaves the window (the timer resumes it).
    /// </summary>
    private async Task<List<RecipientEntity>> WithinLimitAsync(CampaignEntity campaign, List<RecipientEntity> picked, CancellationToken cancellationToken)
    {
        if (campaign.TierCap is not { } cap)
        {
            return picked;
        }

        var now = clock.GetUtcNow();
        var outside = picked.Where(r => !(now - r.LastInboundAt < SendRules.ServiceWindow)).ToList();
        if (outside.Count == 0)
        {
            return picked;
        }

        var reservation = await reach.ReserveAsync(campaign.WabaId, campaign.PartitionKey, [.. outside.Select(r => r.ContactId)], cap, now, cancellationToken).ConfigureAwait(false);
        if (reservation.Waiting.Count == 0)
        {
            return picked;
        }

        var waiting = reservation.Waiting.ToHashSet(StringComparer.Ordinal);
        var allowed = picked.Where(r => !waiting.Contains(r.ContactId)).ToList();
        if (allowed.Count == 0)
        {
            var resumeAt = reservation.FreesAt ?? now + TimeSpan.FromHours(1);
            CampaignLog.LimitReached(logger, campaign.Id, cap, resumeAt);
            await lifecycle.PauseAsync(campaign.PartitionKey, campaign.Id, PauseReasons.MessagingLimit, resumeAt, cancellationToken).ConfigureAwait(false);
        }

        return allowed;
    }

    private async Task ReleaseAsync(CampaignEntity campaign, List<RecipientEntity> picked, CancellationToken cancellationToken)
    {
        var ws = campaign.PartitionKey;
        var releases = picked.Select(recipient =>
        {
            var components = recipient.ComponentsJson ?? campaign.ComponentsJson;
            using var document = components is null ? null : JsonDocument.Parse(components);
            var draft = new SendDraft { Type = "template", Template = new TemplateRef(campaign.TemplateName, campaign.TemplateLanguage, document?.RootElement) };
            var payload = MetaPayload.Build(ws, recipient.MessageId, draft, new Recipient(recipient.To, recipient.UserId));
            return new Release(new NewMessage(ws, recipient.MessageId, recipient.ContactId, recipient.To, recipient.UserId, "template", campaign.AccountId, campaign.PhoneNumberId, payload, campaign.Id), recipient.RowKey, recipient.ETag);
        }).ToList();
        var created = await messages.ReleaseAllAsync(releases, 16, cancellationToken).ConfigureAwait(false);
        await Parallel.ForEachAsync(created, new ParallelOptions { MaxDegreeOfParallelism = 16, CancellationToken = CancellationToken.None }, async (message, ct) =>
            await enqueuer.EnqueueAsync(new SendWork(ws, message.Id, 0, message), null, ct).ConfigureAwait(false)).ConfigureAwait(false);
    }

    /// <summary>
    /// The window's message ids on the fan-out row, <see cref="IdsPerProperty"/> to a property (<c>InFlight</c>,
    /// <c>InFlight1</c>, …): a string property holds 32,768 characters, and a window at 1,000 msg/s is 3,000 ids.
    /// </summary>
    private static void WriteWindow(TableEntity fanout, IEnumerable<string> ids)
    {
        var parts = ids.Chunk(IdsPerProperty).Select(chunk => string.Join(",", chunk)).ToList();
        for (var i = 0; i < Math.Max(parts.Count, fanout.GetInt32("InFlightParts") ?? 1); i++)
        {
            fanout[i == 0 ? "InFlight" : "InFlight" + i.ToString(CultureInfo.InvariantCulture)] = i < parts.Count ? parts[i] : "";
        }

        fanout["InFlightParts"] = Math.Max(1, parts.Count);
    }

    private static List<string> ReadWindow(TableEntity fanout) =>
        [.. Enumerable.Range(0, fanout.GetInt32("InFlightParts") ?? 1)
            .SelectMany(i => (fanout.GetString(i == 0 ? "InFlight" : "InFlight" + i.ToString(CultureInfo.InvariantCulture)) ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries))];

    /// <summary>The last window was cut short: its messages that exist and are still waiting for their first attempt are enqueued again.</summary>
    private async Task ReplayWindowAsync(string ws, TableEntity fanout, CancellationToken cancellationToken)
    {
        var ids = ReadWindow(fanout);
        await Parallel.ForEachAsync(ids, new ParallelOptions { MaxDegreeOfParallelism = 16, CancellationToken = cancellationToken }, async (messageId, ct) =>
        {
            if (await messageStore.FindAsync(ws, messageId, ct).ConfigureAwait(false) is { Status: MessageStatus.Queued, Attempts: 0 } message)
            {
                await enqueuer.EnqueueAsync(new SendWork(ws, message.Id, 0, message), null, ct).ConfigureAwait(false);
            }
        }).ConfigureAwait(false);
        fanout["WindowDone"] = true;
    }

    /// <summary>
    /// True (and the clock restarted) when recipients are queued and the count of settled ones has not moved for
    /// <see cref="Stuck"/> of steps; the fan-out row remembers that count and since when. A campaign that was not
    /// stepping (paused, or its step lost) starts the clock again: its queued messages were waiting, not lost.
    /// </summary>
    private bool IsStuck(TableEntity fanout, long settled, long queued)
    {
        var now = clock.GetUtcNow();
        if (queued == 0 || fanout.GetInt64("Settled") != settled || fanout.GetDateTimeOffset("SettledAt") is not { } since
            || !(fanout.GetDateTimeOffset("LastStepAt") > now - CampaignWatcher.Stalled))
        {
            fanout["Settled"] = settled;
            fanout["SettledAt"] = now;
            return false;
        }

        if (now - since < Stuck)
        {
            return false;
        }

        fanout["SettledAt"] = now;
        return true;
    }

    /// <summary>
    /// The campaign's queued recipients whose messages have not moved for <see cref="Stuck"/>: one never tried is
    /// enqueued again, one claimed is handed to the dispatcher's claim check (which settles a dead instance's claim as
    /// <c>delivery_unknown</c> after <c>ClaimTimeout</c>, never sending it again). A queue message that was only slow
    /// makes a duplicate, which is harmless: only the ETag-guarded claim sends. Messages put back with a delay
    /// (attempt above 0) are left to their own queue messages.
    /// </summary>
    private async Task RequeueStuckAsync(string ws, string id, CancellationToken cancellationToken)
    {
        var table = await store.MessagesAsync(cancellationToken).ConfigureAwait(false);
        var before = clock.GetUtcNow() - Stuck;
        var requeued = 0;
        await Parallel.ForEachAsync(CampaignKeys.AllPartitions(ws), new ParallelOptions { MaxDegreeOfParallelism = 16, CancellationToken = cancellationToken }, async (partition, ct) =>
        {
            var filter = TableKeys.PrefixFilter(partition, CampaignKeys.RecipientRange(id)) + " and " + TableClient.CreateQueryFilter($"Status eq {RecipientStatus.Queued}");
            await foreach (var recipient in table.QueryAsync<RecipientEntity>(filter, maxPerPage: 1000, cancellationToken: ct).ConfigureAwait(false))
            {
                var work = await messageStore.FindAsync(ws, recipient.MessageId, ct).ConfigureAwait(false) switch
                {
                    { Status: MessageStatus.Queued, Attempts: 0 } m when m.CreatedAt < before => new SendWork(ws, m.Id, 0),
                    { Status: MessageStatus.Sending } m when (m.ClaimedAt ?? m.CreatedAt) < before => new SendWork(ws, m.Id, m.Attempts - 1),
                    _ => null,
                };
                if (work is not null)
                {
                    await enqueuer.EnqueueAsync(work, null, ct).ConfigureAwait(false);
                    Interlocked.Increment(ref requeued);
                }
            }
        }).ConfigureAwait(false);
        CampaignLog.RequeuedStuck(logger, id, requeued);
    }

    /// <summary>Moves pending recipients to cancelled, a transaction per partition of up to 98, with their stats.</summary>
    private async Task CancelPendingAsync(string ws, string id, CancellationToken cancellationToken)
    {
        var table = await store.MessagesAsync(cancellationToken).ConfigureAwait(false);
        await Parallel.ForEachAsync(CampaignKeys.AllPartitions(ws), new ParallelOptions { MaxDegreeOfParallelism = 16, CancellationToken = cancellationToken }, async (partition, ct) =>
            await MoveAllAsync(table, partition, id, RecipientStatus.Pending, r => r.Status == RecipientStatus.Pending, (r, row) => row["Status"] = RecipientStatus.Cancelled, RecipientStatus.Cancelled, 500, ct).ConfigureAwait(false)).ConfigureAwait(false);
    }

    /// <summary>Failed recipients of the asked categories that Meta never accepted a message for get a new message id and are pending again.</summary>
    private async Task PrepareRetryAsync(CampaignEntity campaign, List<string> categories, CancellationToken cancellationToken)
    {
        var (ws, id) = (campaign.PartitionKey, campaign.Id);
        var table = await store.MessagesAsync(cancellationToken).ConfigureAwait(false);
        var now = clock.GetUtcNow();
        // Never one Meta may have taken: accepted (EverSent), or whose last call's answer never came (a timeout, or a
        // sender that stopped before recording it): those may have been delivered.
        bool Wanted(RecipientEntity r) => r.Status == RecipientStatus.Failed && !r.EverSent && r.ErrorCode is not (MessageLifecycle.DeliveryUnknownCode or "timeout")
            && categories.Contains(string.IsNullOrEmpty(r.ErrorCategory) ? CampaignFailures.Categorize(r.ErrorCode) : r.ErrorCategory, StringComparer.Ordinal);
        await Parallel.ForEachAsync(CampaignKeys.AllPartitions(ws), new ParallelOptions { MaxDegreeOfParallelism = 16, CancellationToken = cancellationToken }, async (partition, ct) =>
            await MoveAllAsync(table, partition, id, RecipientStatus.Failed, Wanted, (r, row) =>
            {
                row["Status"] = RecipientStatus.Pending;
                row["MessageId"] = CampaignKeys.MessageIdIn(now, r.ContactId[^1]);
                row["Round"] = campaign.Round;
                row["ErrorCode"] = "";
                row["ErrorTitle"] = "";
                row["ErrorCategory"] = "";
                row["UpdatedAt"] = now;
            }, RecipientStatus.Pending, int.MaxValue, ct).ConfigureAwait(false)).ConfigureAwait(false);
        await lifecycle.RetryPreparedAsync(ws, id, campaign.Round, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Moves the recipients of one partition in <paramref name="from"/> that <paramref name="wanted"/> picks to
    /// <paramref name="to"/>: each under its ETag, with the stats, up to 98 a transaction; a transaction that meets a
    /// recipient moved meanwhile is read and decided again.
    /// </summary>
    private static async Task MoveAllAsync(TableClient table, string partition, string id, string from, Func<RecipientEntity, bool> wanted, Action<RecipientEntity, TableEntity> change, string to, int max, CancellationToken cancellationToken)
    {
        var counts = new CounterShards(4);
        var moved = 0;
        for (var round = 0; round < 100 && moved < max; round++)
        {
            var filter = TableKeys.PrefixFilter(partition, CampaignKeys.RecipientRange(id)) + " and " + TableClient.CreateQueryFilter($"Status eq {from}");
            var rows = new List<RecipientEntity>();
            await foreach (var row in table.QueryAsync<RecipientEntity>(filter, maxPerPage: 1000, cancellationToken: cancellationToken).ConfigureAwait(false))
            {
                if (wanted(row))
                {
                    rows.Add(row);
                }
            }

            if (rows.Count == 0)
            {
                return;
            }

            var conflicted = false;
            foreach (var chunk in rows.Chunk(98))
            {
                var actions = chunk.Select(r =>
                {
                    var update = new TableEntity(partition, r.RowKey);
                    change(r, update);
                    return new TableTransactionAction(TableTransactionActionType.UpdateMerge, update, r.ETag);
                }).ToList();
                try
                {
                    await counts.SubmitAsync(table, partition, actions, [new(CampaignKeys.Stat(id, from), -chunk.Length), new(CampaignKeys.Stat(id, to), chunk.Length)], cancellationToken).ConfigureAwait(false);
                    moved += chunk.Length;
                }
                catch (TableTransactionFailedException ex) when (OptimisticRetry.IsConflict(ex))
                {
                    conflicted = true;
                    break;
                }
            }

            if (!conflicted && rows.Count < 1000)
            {
                return;
            }
        }
    }
}
