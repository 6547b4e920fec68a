namespace HealthGrpc.Storage.Postgres;

/// <summary>
/// One group commit of an instance's writer loop: ids of new users/sources/units (short statements of their own), then
/// ONE transaction: lock the group's users and read what the items touch (<see cref="PgGroupReader"/>), decide every
/// batch in memory (<see cref="GroupPlanner"/>; a batch whose EncodeAck throws fails alone and the rest is planned
/// again), write the plan set-based (<see cref="PgGroupWriter"/>), COMMIT. Any database failure fails every batch of
/// the group with <see cref="HealthStoreUnavailableException"/> (nothing was acked; a COMMIT whose outcome is unknown is
/// safe too: the client's retry is answered as a duplicate if it did commit).
/// </summary>
internal static class PgGroupCommit
{
    public static async Task ExecuteAsync(PgWriterConnection writer, List<PgWorkItem> group, ChangeNotifications notifications)
    {
        // Statements are bounded by the command timeout; a caller's token counts only until the writer took its item.
        var ct = CancellationToken.None;
        var commits = new List<CommitItem>();
        var probes = new List<PgWorkItem<bool>>();
        foreach (var item in group)
        {
            if (item.CancellationToken.IsCancellationRequested)
            {
                item.Cancel();
            }
            else if (item is CommitItem commit)
            {
                commits.Add(commit);
            }
            else
            {
                probes.Add((PgWorkItem<bool>)item);
            }
        }

        if (commits.Count == 0 && probes.Count == 0)
        {
            return;
        }

        GroupPlan? plan;
        try
        {
            var connection = await writer.OpenAsync(ct).ConfigureAwait(false);
            var batches = commits.Select(c => c.Batch).ToList();
            var users = await writer.UsersAsync(connection, batches.Select(b => b.UserId), DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), ct).ConfigureAwait(false);
            var sources = await writer.SourcesAsync(connection, batches.SelectMany(SourcesOf), ct).ConfigureAwait(false);
            var units = await writer.UnitsAsync(connection, batches.SelectMany(UnitsOf), ct).ConfigureAwait(false);

            await using var transaction = await connection.BeginTransactionAsync(ct).ConfigureAwait(false);
            var state = await PgGroupReader.ReadAsync(connection, commits, users, ct).ConfigureAwait(false);
            while (true)
            {
                plan = GroupPlanner.Plan(commits, state, users, sources, units, out var failed);
                if (plan is not null)
                {
                    break;
                }

                failed!.Value.Item.Fail(failed.Value.Error);
                commits.Remove(failed.Value.Item);
            }

            await CompleteDuplicatesAsync(connection, plan, state, ct).ConfigureAwait(false);
            await PgGroupWriter.WriteAsync(connection, plan, state, probes.Count > 0 ? state.CommitMs : null, plan.CommittedUsers, ct).ConfigureAwait(false);
            await transaction.CommitAsync(ct).ConfigureAwait(false);
        }
        catch (Exception error)
        {
            await writer.ResetAsync().ConfigureAwait(false);
            var failure = new HealthStoreUnavailableException("The commit failed; nothing of the batch was stored.", error);
            foreach (var item in group)
            {
                item.Fail(failure);
            }

            return;
        }

        // Durable now: wake this instance's live subscriptions before the callers are completed (and ack); other
        // instances hear the NOTIFY that committed with the transaction.
        notifications.Publish(plan.CommittedUsers);
        foreach (var commit in commits)
        {
            commit.Result = plan.Outcomes[commit];
            commit.Complete();
        }

        foreach (var probe in probes)
        {
            probe.Result = true;
            probe.Complete();
        }
    }

    private static async Task CompleteDuplicatesAsync(Npgsql.NpgsqlConnection connection, GroupPlan plan, StoredState state, CancellationToken ct)
    {
        if (plan.PendingDuplicates.Count == 0)
        {
            return;
        }

        var acks = await PgGroupReader.ReadAcksAsync(
            connection,
            plan.PendingDuplicates.Values.Select(l => (state.Devices[l.Device].Id, l.Epoch, l.BatchSeq)),
            ct).ConfigureAwait(false);
        foreach (var (item, lookup) in plan.PendingDuplicates)
        {
            var ack = acks.GetValueOrDefault((state.Devices[lookup.Device].Id, lookup.Epoch, lookup.BatchSeq), []);
            plan.Outcomes[item] = new CommitOutcome.Duplicate(ack, lookup.HighWaterMark);
        }
    }

    private static IEnumerable<SourceRecord> SourcesOf(IngestBatch batch) =>
        batch.Samples.Select(s => s.Source).Concat(batch.Series.Select(s => s.Source)).Concat(batch.Waveforms.Select(w => w.Source));

    private static IEnumerable<string> UnitsOf(IngestBatch batch) =>
        batch.Samples.Select(s => s.Unit).Concat(batch.Series.Select(s => s.Unit)).Concat(batch.Waveforms.Select(w => w.Unit));
}
