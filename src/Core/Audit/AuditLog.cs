using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using AccountFunctions.Core.Security;
using AccountFunctions.Core.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.Tokens;

namespace AccountFunctions.Core.Audit;

public sealed record AuditItem(DateTimeOffset At, string Type, string? AccountId, string? Ip, IReadOnlyDictionary<string, string>? Detail);
public sealed record AuditPage(IReadOnlyList<AuditItem> Items, string? NextCursor);

/// <summary>
/// The audit trail (docs/storage.md, "Audit trail"). Recording never fails the request that
/// caused it: the change has already committed when the event is written (a different table,
/// so no shared transaction), and a failed write is logged as an error and otherwise ignored.
/// Cost: the day and account copies are inserted in parallel (one round trip); the first event
/// of a day on an instance also inserts that day's index row first.
/// </summary>
public sealed partial class AuditLog(AuditTable table, TokenKeys keys, TimeProvider time, ILogger<AuditLog> log,
    Operations.AccountMetrics? metrics = null)
{
    public const int DefaultPageSize = 50;
    public const int MaxPageSize = 200;
    public const string PseudonymPrefix = "deleted-";
    private const int MaxDetailValue = 200;
    private const int MaxIp = 64;

    /// <summary>A detail object from pairs; null or empty values are left out.</summary>
    public static IReadOnlyDictionary<string, string?> Detail(params (string Key, string? Value)[] pairs) =>
        pairs.ToDictionary(p => p.Key, p => p.Value);

    /// <summary>A read of one of the account's audit rows (comparable work on an enumeration-safe path: where an event would go).</summary>
    public Task<AuditRow?> PeekAsync(string key, CancellationToken ct = default) => table.PeekAsync(key, ct);

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
            var row = new AuditRow
            {
                RowKey = AuditTable.NewRowKey(at),
                At = at,
                Type = type,
                AccountId = accountId,
                ActorId = actorId == accountId ? null : actorId,
                Ip = ip is null ? null : ip.Length <= MaxIp ? ip : ip[..MaxIp],
                Detail = DetailJson(detail),
            };
            await table.AddAsync(row, accountId, row.ActorId);
        }
        catch (Exception e)
        {
            // Deliberately broad: the action this records has already happened and answered.
            log.LogError(e, "Audit event {Type} for account {AccountId} was not recorded", type, accountId);
        }
    }

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
            await table.AddDecoysAsync();
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
        foreach (var row in await table.ListAccountAsync(accountId, ct))
        {
            var aboutIt = row.AccountId == accountId;
            var rewritten = row.CopyTo(row.PartitionKey);
            rewritten.AccountId = aboutIt ? pseudonym : row.AccountId;
            rewritten.ActorId = row.ActorId == accountId ? pseudonym : row.ActorId;
            rewritten.Ip = null;
            if (aboutIt) rewritten.Detail = null;
            var other = aboutIt ? row.ActorId : row.AccountId;
            await table.RewriteAsync(row, rewritten, [pseudonym, other is null || other == accountId ? null : other], ct);
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
            await table.ReadAccountAsync(accountId!, from?.RowKey, rows, size + 1, ct);
        }
        else
        {
            var after = from?.RowKey;
            await foreach (var day in table.ListDaysAsync(from?.Day, ct))
            {
                await table.ReadDayAsync(day, after, rows, size + 1, ct);
                if (rows.Count > size) break;
                after = null;
            }
        }
        string? next = null;
        if (rows.Count > size)
        {
            var last = rows[size - 1];
            next = new Cursor(filtered ? null : AuditTable.DayOf(last), last.RowKey).Encode();
            rows.RemoveRange(size, rows.Count - size);
        }
        return new AuditPage(rows.Select(ToItem).ToList(), next);
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
