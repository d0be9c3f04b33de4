using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using AccountFunctions.Core.Security;
using AccountFunctions.Core.Storage;
using Azure;
using Azure.Data.Tables;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.Tokens;

namespace AccountFunctions.Core.Audit;

/// <summary>
/// Table <c>audit</c>: one event, stored once per partition it must be found in (a batch cannot
/// span partitions). RowKey <c>{inverted ticks}-{inverted sequence}-{random}</c>, identical in
/// every copy, so each partition lists newest first.
/// <list type="bullet">
/// <item>PK <c>day-{yyyyMMdd}</c>: every event of that UTC day (the unfiltered list).</item>
/// <item>PK <c>account-{account id}</c>: the events about the account, and those it caused as an admin.</item>
/// </list>
/// </summary>
public sealed class AuditRow : ITableEntity
{
    public string PartitionKey { get; set; } = "";
    public string RowKey { get; set; } = "";
    public DateTimeOffset? Timestamp { get; set; }
    public ETag ETag { get; set; }
    public DateTimeOffset At { get; set; }
    public string Type { get; set; } = "";
    /// <summary>The account the event is about (a pseudonym once the account is deleted).</summary>
    public string? AccountId { get; set; }
    /// <summary>The admin who acted, when it was not the account itself.</summary>
    public string? ActorId { get; set; }
    public string? Ip { get; set; }
    /// <summary>A small JSON object of strings.</summary>
    public string? Detail { get; set; }

    public AuditRow CopyTo(string partitionKey) => new()
    {
        PartitionKey = partitionKey, RowKey = RowKey, At = At, Type = Type, AccountId = AccountId, ActorId = ActorId, Ip = Ip, Detail = Detail,
    };
}

/// <summary>
/// Table <c>audit</c>, PK <c>days</c>, RK 99999999 − yyyyMMdd: the days that have events, newest
/// first, so the unfiltered list walks back over existing day partitions only.
/// </summary>
public sealed class AuditDayRow : ITableEntity
{
    public const string Partition = "days";
    public string PartitionKey { get; set; } = Partition;
    public string RowKey { get; set; } = "";
    public DateTimeOffset? Timestamp { get; set; }
    public ETag ETag { get; set; }
    public string Day { get; set; } = "";
}

public sealed record AuditItem(DateTimeOffset At, string Type, string? AccountId, string? Ip, IReadOnlyDictionary<string, string>? Detail);
public sealed record AuditPage(IReadOnlyList<AuditItem> Items, string? NextCursor);

/// <summary>
/// The audit trail (docs/storage.md, "Audit trail"). Recording never fails the request that
/// caused it: the change has already committed when the event is written (a different table,
/// so no shared transaction), and a failed write is logged as an error and otherwise ignored.
/// Cost: the day and account copies are inserted in parallel (one round trip); the first event
/// of a day on an instance also inserts that day's index row first.
/// </summary>
public sealed partial class AuditLog(StorageContext storage, TokenKeys keys, TimeProvider time, ILogger<AuditLog> log,
    Operations.AccountMetrics? metrics = null)
{
    public const int DefaultPageSize = 50;
    public const int MaxPageSize = 200;
    public const string PseudonymPrefix = "deleted-";
    private const int MaxDetailValue = 200;
    private const int MaxIp = 64;

    private static uint _sequence = uint.MaxValue;
    private readonly ConcurrentDictionary<string, bool> _daysIndexed = new();

    public static string AccountPartition(string accountId) => "account-" + accountId;
    /// <summary>
    /// A day's events are spread over 16 partitions, <c>day-{yyyyMMdd}-{0..f}</c>, the shard being
    /// the last hex digit of the row key's random part: no single partition takes every event of
    /// the day (docs/scale.md), and any copy's day partition follows from its row alone.
    /// </summary>
    public const int DayShards = 16;
    public static string DayPartition(string day, string rowKey) => $"day-{day}-{rowKey[^1]}";
    private static IEnumerable<string> DayPartitions(string day) => Enumerable.Range(0, DayShards).Select(i => $"day-{day}-{i:x}");
    private static string Day(DateTimeOffset at) => at.UtcDateTime.ToString("yyyyMMdd", CultureInfo.InvariantCulture);
    private static string DayKey(string day) => (99999999 - int.Parse(day, CultureInfo.InvariantCulture)).ToString("D8", CultureInfo.InvariantCulture);

    /// <summary>A detail object from pairs; null or empty values are left out.</summary>
    public static IReadOnlyDictionary<string, string?> Detail(params (string Key, string? Value)[] pairs) =>
        pairs.ToDictionary(p => p.Key, p => p.Value);

    /// <summary>A read of one of the account's audit rows (comparable work on an enumeration-safe path: where an event would go).</summary>
    public Task<AuditRow?> PeekAsync(string key, CancellationToken ct = default) => storage.Audit.GetOrNullAsync<AuditRow>(AccountPartition(key), key, ct);

    /// <summary>
    /// Records an event. <paramref name="actorId"/> is the admin who acted on someone else's
    /// account (shown as <c>detail.by</c>). Never throws: see the class comment.
    /// </summary>
    public async Task RecordAsync(string type, string? accountId, string? ip, IReadOnlyDictionary<string, string?>? detail = null, string? actorId = null)
    {
        metrics?.Audited(type, detail);
        try
        {
            var at = time.GetUtcNow();
            var day = Day(at);
            var row = new AuditRow
            {
                RowKey = NewRowKey(at),
                At = at,
                Type = type,
                AccountId = accountId,
                ActorId = actorId == accountId ? null : actorId,
                Ip = ip is null ? null : ip.Length <= MaxIp ? ip : ip[..MaxIp],
                Detail = DetailJson(detail),
            };
            // The index row first, so a day partition is never unreachable from the index.
            if (!_daysIndexed.ContainsKey(day))
            {
                await storage.Audit.UpsertEntityAsync(new AuditDayRow { RowKey = DayKey(day), Day = day }, TableUpdateMode.Replace);
                _daysIndexed[day] = true;
            }
            var partitions = new[] { DayPartition(day, row.RowKey), accountId is null ? null : AccountPartition(accountId), row.ActorId is null ? null : AccountPartition(row.ActorId) };
            await Task.WhenAll(partitions.OfType<string>().Select(pk => storage.Audit.AddEntityAsync(row.CopyTo(pk))));
        }
        catch (Exception e)
        {
            // Deliberately broad: the action this records has already happened and answered.
            log.LogError(e, "Audit event {Type} for account {AccountId} was not recorded", type, accountId);
        }
    }

    /// <summary>Partition of the placeholder rows <see cref="DecoyAsync"/> inserts into; no listing reads it.</summary>
    public const string DecoyPartition = "decoy";

    /// <summary>
    /// The calls of an event with an account (two inserts, as <see cref="RecordAsync"/> makes), for
    /// a path that must not differ from it by its work: a failed login of an unknown identifier.
    /// Both insert fixed placeholder rows that exist after the first time, so they conflict (409)
    /// and nothing accumulates and nothing about the identifier is stored. Never throws.
    /// </summary>
    public async Task DecoyAsync()
    {
        try
        {
            await Task.WhenAll(new[] { "a", "b" }.Select(async rk =>
            {
                try
                {
                    await storage.Audit.AddEntityAsync(new AuditRow { PartitionKey = DecoyPartition, RowKey = rk, At = DateTimeOffset.UnixEpoch, Type = "decoy" });
                }
                catch (RequestFailedException e) when (e.Status == 409)
                {
                }
            }));
        }
        catch (Exception e)
        {
            log.LogError(e, "Placeholder audit write failed");
        }
    }

    /// <summary>What a deleted account is called in the audit trail: stable, not reversible without the token key.</summary>
    public async Task<string> PseudonymAsync(string accountId) =>
        PseudonymPrefix + Convert.ToHexStringLower((await keys.MacAsync("audit-pseudonym", accountId)).AsSpan(0, 16));

    /// <summary>
    /// Rewrites every event that names the account (found through its partition) under its
    /// pseudonym, in every copy: the day copy, the other party's copy, and a copy in the
    /// pseudonym's partition; then removes the originals. The IP goes (it was the deleted person's
    /// or, for an admin's action, the admin's); the detail goes when the event was about the
    /// deleted account, and stays when it was another account's event that this account caused
    /// as an admin. Idempotent, so a crash is repaired by deleting again.
    /// </summary>
    public async Task PseudonymiseAsync(string accountId, CancellationToken ct = default)
    {
        var pseudonym = await PseudonymAsync(accountId);
        var rows = new List<AuditRow>();
        await foreach (var row in storage.Audit.QueryAsync<AuditRow>(r => r.PartitionKey == AccountPartition(accountId), cancellationToken: ct))
            rows.Add(row);
        foreach (var row in rows)
        {
            var aboutIt = row.AccountId == accountId;
            var rewritten = row.CopyTo(row.PartitionKey);
            rewritten.AccountId = aboutIt ? pseudonym : row.AccountId;
            rewritten.ActorId = row.ActorId == accountId ? pseudonym : row.ActorId;
            rewritten.Ip = null;
            if (aboutIt) rewritten.Detail = null;
            var other = aboutIt ? row.ActorId : row.AccountId;
            var targets = new[] { DayPartition(Day(row.At), row.RowKey), AccountPartition(pseudonym), other is null || other == accountId ? null : AccountPartition(other) };
            await Task.WhenAll(targets.OfType<string>().Select(pk => storage.Audit.UpsertEntityAsync(rewritten.CopyTo(pk), TableUpdateMode.Replace, ct)));
            await storage.Audit.DeleteIfExistsAsync(row.PartitionKey, row.RowKey, ct);
        }
    }

    /// <summary>
    /// Newest first, <paramref name="limit"/> (default 50, at most 200) per page. With an account
    /// id (or a pseudonym): that account's partition. Without: the day partitions, walking back
    /// through the days index. The cursor is opaque and checked; a bad one is a 400.
    /// </summary>
    public async Task<Result<AuditPage>> ListAsync(string? accountId, string? cursor, string? limit, CancellationToken ct = default)
    {
        var errors = new Dictionary<string, string[]>();
        var filtered = !string.IsNullOrEmpty(accountId);
        if (filtered && !IsAccountId(accountId!) && !IsPseudonym(accountId!))
            errors["accountId"] = ["An account id is 32 lowercase hexadecimal characters (or a deleted account's pseudonym)."];
        var size = DefaultPageSize;
        if (!string.IsNullOrEmpty(limit) && (!int.TryParse(limit, NumberStyles.None, CultureInfo.InvariantCulture, out size) || size is < 1 or > MaxPageSize))
            errors["limit"] = [$"Use a whole number from 1 to {MaxPageSize}."];
        Cursor? from = null;
        // A cursor of the other kind (account vs. all) is refused too: its row key means nothing there.
        if (!string.IsNullOrEmpty(cursor) && (!Cursor.TryDecode(cursor, out from) || (from!.Day is null) != filtered))
            errors["cursor"] = ["This cursor is not one this API gave out for this query."];
        if (errors.Count > 0) return Errors.Validation(errors);

        // One more than the page, to know whether a next page exists.
        var rows = new List<AuditRow>();
        if (filtered)
        {
            await ReadAsync(AccountPartition(accountId!), from?.RowKey, rows, size + 1, ct);
        }
        else
        {
            var after = from?.RowKey;
            var startKey = from is null ? "" : DayKey(from.Day!);
            await foreach (var day in storage.Audit.QueryAsync<AuditDayRow>(
                d => d.PartitionKey == AuditDayRow.Partition && d.RowKey.CompareTo(startKey) >= 0, cancellationToken: ct))
            {
                await ReadDayAsync(day.Day, after, rows, size + 1, ct);
                if (rows.Count > size) break;
                after = null;
            }
        }
        string? next = null;
        if (rows.Count > size)
        {
            var last = rows[size - 1];
            next = new Cursor(filtered ? null : last.PartitionKey["day-".Length..("day-".Length + 8)], last.RowKey).Encode();
            rows.RemoveRange(size, rows.Count - size);
        }
        return new AuditPage(rows.Select(ToItem).ToList(), next);
    }

    private async Task ReadAsync(string partition, string? after, List<AuditRow> into, int max, CancellationToken ct)
    {
        var filter = after is null
            ? TableClient.CreateQueryFilter($"PartitionKey eq {partition}")
            : TableClient.CreateQueryFilter($"PartitionKey eq {partition} and RowKey gt {after}");
        await foreach (var row in storage.Audit.QueryAsync<AuditRow>(filter, maxPerPage: Math.Min(max - into.Count, 1000), cancellationToken: ct))
        {
            into.Add(row);
            if (into.Count >= max) return;
        }
    }

    /// <summary>
    /// One day, newest first, across its shards: each shard is read (in parallel) for at most what
    /// the page still needs, and the rows are merged by row key, which orders them in time whatever
    /// their shard.
    /// </summary>
    private async Task ReadDayAsync(string day, string? after, List<AuditRow> into, int max, CancellationToken ct)
    {
        var want = max - into.Count;
        var shards = await Task.WhenAll(DayPartitions(day).Select(async pk =>
        {
            var rows = new List<AuditRow>();
            await ReadAsync(pk, after, rows, want, ct);
            return rows;
        }));
        into.AddRange(shards.SelectMany(r => r).OrderBy(r => r.RowKey, StringComparer.Ordinal).Take(want));
    }

    private static AuditItem ToItem(AuditRow row)
    {
        Dictionary<string, string>? detail = null;
        if (row.Detail is { Length: > 0 } json)
            try { detail = JsonSerializer.Deserialize<Dictionary<string, string>>(json); }
            catch (JsonException) { detail = null; }
        if (row.ActorId is not null) (detail ??= [])["by"] = row.ActorId;
        return new AuditItem(row.At, row.Type, row.AccountId, row.Ip, detail is { Count: > 0 } ? detail : null);
    }

    private static string? DetailJson(IReadOnlyDictionary<string, string?>? detail)
    {
        if (detail is null) return null;
        var kept = detail.Where(kv => !string.IsNullOrEmpty(kv.Value))
            .ToDictionary(kv => kv.Key, kv => kv.Value!.Length <= MaxDetailValue ? kv.Value : kv.Value[..MaxDetailValue]);
        return kept.Count == 0 ? null : JsonSerializer.Serialize(kept);
    }

    /// <summary>
    /// Inverted ticks so newer sorts first; then an inverted per-process sequence, so events of
    /// one tick on one instance also list newest first; then randomness, so instances never collide.
    /// </summary>
    private static string NewRowKey(DateTimeOffset at)
    {
        var sequence = Interlocked.Decrement(ref _sequence);
        return $"{DateTimeOffset.MaxValue.UtcTicks - at.UtcTicks:D19}-{sequence:D10}-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4))}";
    }

    private static bool IsAccountId(string id) => id is { Length: 32 } && id.All(c => char.IsAsciiDigit(c) || c is >= 'a' and <= 'f');
    private static bool IsPseudonym(string id) => id.StartsWith(PseudonymPrefix, StringComparison.Ordinal) && IsAccountId(id[PseudonymPrefix.Length..]);

    /// <summary>Where a page ended: the day partition (unfiltered lists only) and the last row key.</summary>
    private sealed partial record Cursor(string? Day, string RowKey)
    {
        [GeneratedRegex(@"^(?:d:(?<day>\d{8})|a):(?<rk>\d{19}-\d{10}-[0-9a-f]{8})$")]
        private static partial Regex Format();

        public string Encode() => Base64UrlEncoder.Encode(Day is null ? $"a:{RowKey}" : $"d:{Day}:{RowKey}");

        public static bool TryDecode(string text, out Cursor? cursor)
        {
            cursor = null;
            if (text.Length > 200 || !text.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_')) return false;
            string decoded;
            try
            {
                decoded = new UTF8Encoding(false, true).GetString(Base64UrlEncoder.DecodeBytes(text));
            }
            catch (Exception e) when (e is FormatException or ArgumentException)
            {
                return false;
            }
            var m = Format().Match(decoded);
            if (!m.Success) return false;
            var day = m.Groups["day"].Success ? m.Groups["day"].Value : null;
            if (day is not null && !DateTime.TryParseExact(day, "yyyyMMdd", CultureInfo.InvariantCulture, DateTimeStyles.None, out _)) return false;
            cursor = new Cursor(day, m.Groups["rk"].Value);
            return true;
        }
    }
}
