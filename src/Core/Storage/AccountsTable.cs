using Azure;
using Azure.Data.Tables;

namespace AccountFunctions.Core.Storage;

/// <summary>
/// Table <c>accounts</c>: one partition per account (PK the account id). RK <c>account</c> is the
/// <see cref="Account"/> row (the domain object stays in Accounts/; its keys and writes are here),
/// beside it the account's sessions (<see cref="SessionRow"/>), outbox rows, revert rows, token
/// index rows and MFA recovery codes, so one transaction can change several of them
/// (<see cref="AccountChange"/>).
/// </summary>
public sealed class AccountsTable(StorageContext storage)
{
    private TableClient Table => storage.Accounts;

    public Task<Account?> GetAsync(string accountId, CancellationToken ct = default) =>
        Table.GetOrNullAsync<Account>(accountId, Account.Row, ct);

    /// <summary>
    /// The account row for an id that may not exist: a read as long as a real one, so a path
    /// without an account makes the same call as one with (login's enumeration safety).
    /// </summary>
    public Task<Account?> GetOrNoneAsync(string? accountId, CancellationToken ct = default) =>
        GetAsync(accountId ?? Account.NewId(), ct);

    /// <summary>Writes the account with the ETag it was read with; false when it changed or went meanwhile.</summary>
    public Task<bool> TryReplaceAsync(Account account, CancellationToken ct = default) => Table.TryReplaceAsync(account, ct);

    /// <summary>The account row and one of its session rows, in one query of the account's partition.</summary>
    public async Task<(Account? Account, SessionRow? Session)> GetWithSessionAsync(string accountId, string sessionId, CancellationToken ct = default)
    {
        var sessionKey = SessionRow.Key(sessionId);
        var filter = TableClient.CreateQueryFilter(
            $"PartitionKey eq {accountId} and (RowKey eq {Account.Row} or RowKey eq {sessionKey})");
        SessionRow? session = null;
        Account? account = null;
        await foreach (var e in Table.QueryAsync<TableEntity>(filter, cancellationToken: ct))
        {
            if (e.RowKey == Account.Row) account = EntityMapper.To<Account>(e);
            else if (e.RowKey == sessionKey) session = EntityMapper.To<SessionRow>(e);
        }
        return (account, session);
    }

    public Task<SessionRow?> GetSessionAsync(string accountId, string sessionId, CancellationToken ct = default) =>
        Table.GetOrNullAsync<SessionRow>(accountId, SessionRow.Key(sessionId), ct);

    /// <summary>Rotation: the session with the ETag it was read with; false when a racer rotated it first.</summary>
    public Task<bool> TryReplaceSessionAsync(SessionRow session, CancellationToken ct = default) => Table.TryReplaceAsync(session, ct);

    /// <summary>Ends a session if it is still the version that was read (reuse detection, expiry).</summary>
    public Task<bool> TryDeleteSessionAsync(SessionRow session, CancellationToken ct = default) => Table.TryDeleteAsync(session, ct);

    /// <summary>Ends a session whatever its state.</summary>
    public Task DeleteSessionAsync(string accountId, string sessionId, CancellationToken ct = default) =>
        Table.DeleteIfExistsAsync(accountId, SessionRow.Key(sessionId), ct);

    /// <summary>The account's session rows (one partition range query).</summary>
    public async Task<List<SessionRow>> ListSessionsAsync(string accountId, CancellationToken ct = default)
    {
        const string from = SessionRow.Prefix, to = SessionRow.Prefix + "~";
        var rows = new List<SessionRow>();
        await foreach (var s in Table.QueryAsync<SessionRow>(
            r => r.PartitionKey == accountId && r.RowKey.CompareTo(from) >= 0 && r.RowKey.CompareTo(to) < 0, cancellationToken: ct))
            rows.Add(s);
        return rows;
    }

    /// <summary>Inserts a new account row (fails if the id exists).</summary>
    public Task CreateAsync(Account account, CancellationToken ct = default) => Table.AddEntityAsync(account, ct);

    /// <summary>Inserts a row beside the account (a session, an email with no other change).</summary>
    public Task AddAsync(ITableEntity row, CancellationToken ct = default) => Table.AddEntityAsync(row, ct);

    public Task<T?> GetRowAsync<T>(string accountId, string rowKey, CancellationToken ct = default) where T : class, ITableEntity, new() =>
        Table.GetOrNullAsync<T>(accountId, rowKey, ct);

    /// <summary>The account's rows whose key starts with <paramref name="prefix"/> (one partition range query).</summary>
    public async Task<List<T>> ListAsync<T>(string accountId, string prefix, CancellationToken ct = default) where T : class, ITableEntity, new()
    {
        var (from, to) = (prefix, prefix + "~");
        var rows = new List<T>();
        await foreach (var row in Table.QueryAsync<T>(e => e.PartitionKey == accountId && e.RowKey.CompareTo(from) >= 0 && e.RowKey.CompareTo(to) < 0,
            cancellationToken: ct))
            rows.Add(row);
        return rows;
    }

    /// <summary>Every row of the account's partition but the account row itself.</summary>
    public async Task<List<TableEntity>> ListBesideAsync(string accountId, CancellationToken ct = default)
    {
        var rows = new List<TableEntity>();
        await foreach (var row in Table.QueryAsync<TableEntity>(e => e.PartitionKey == accountId, cancellationToken: ct))
            if (row.RowKey != Account.Row) rows.Add(row);
        return rows;
    }

    /// <summary>Removes the keys of the account's rows that start with <paramref name="prefix"/> (cleanup of rows nobody else writes).</summary>
    public async Task RemoveAllAsync(string accountId, string prefix, CancellationToken ct = default)
    {
        var (from, to) = (prefix, prefix + "~");
        var keys = new List<string>();
        await foreach (var row in Table.QueryAsync<TableEntity>(
            e => e.PartitionKey == accountId && e.RowKey.CompareTo(from) >= 0 && e.RowKey.CompareTo(to) < 0, select: ["RowKey"], cancellationToken: ct))
            keys.Add(row.RowKey);
        foreach (var key in keys) await Table.DeleteIfExistsAsync(accountId, key, ct);
    }

    /// <summary>Inserts a marker row beside the account (a TOTP step used): the insert is the lock, false when it exists.</summary>
    public Task<bool> TryAddMarkerAsync(string accountId, string rowKey, DateTimeOffset at, CancellationToken ct = default) =>
        Table.TryAddAsync(new TableEntity(accountId, rowKey) { ["ConsumedAt"] = at }, ct);

    /// <summary>Deletes the account row if it is still the version that was read.</summary>
    public Task<bool> TryDeleteAsync(Account account, CancellationToken ct = default) => Table.TryDeleteAsync(account, ct);

    /// <summary>Writes a row beside the account unconditionally (a token index row: nothing else writes it).</summary>
    public Task SetAsync(ITableEntity row, CancellationToken ct = default) => Table.UpsertEntityAsync(row, TableUpdateMode.Replace, ct);

    /// <summary>The account's token index rows whose link has expired by <paramref name="now"/> (the expiry leads the key), at most <paramref name="max"/>.</summary>
    public async Task<List<TokenIndexRow>> ListExpiredTokenIndexAsync(string accountId, DateTimeOffset now, int max, CancellationToken ct = default)
    {
        var (from, to) = (TokenIndexRow.Prefix, TokenIndexRow.Prefix + now.UtcTicks.ToString("D19"));
        var expired = new List<TokenIndexRow>();
        await foreach (var row in Table.QueryAsync<TokenIndexRow>(
            r => r.PartitionKey == accountId && r.RowKey.CompareTo(from) >= 0 && r.RowKey.CompareTo(to) < 0, maxPerPage: max, cancellationToken: ct))
        {
            expired.Add(row);
            if (expired.Count == max) break;
        }
        return expired;
    }

    /// <summary>Writes a row beside the account with the ETag it was read with (an outbox row's lease); false when it changed.</summary>
    public Task<bool> TryReplaceRowAsync(ITableEntity row, CancellationToken ct = default) => Table.TryReplaceAsync(row, ct);

    /// <summary>Removes one row beside the account whatever its state.</summary>
    public Task RemoveAsync(string accountId, string rowKey, CancellationToken ct = default) => Table.DeleteIfExistsAsync(accountId, rowKey, ct);

    /// <summary>Single use of a row beside the account (a recovery code): see TableResults.TryConsumeAsync.</summary>
    public Task<bool> TryConsumeAsync(ITableEntity row, string version, CancellationToken ct = default) => Table.TryConsumeAsync(row, version, ct);

    /// <summary>
    /// A page of account rows, optionally of one status and with an email or name starting with
    /// <paramref name="prefix"/>, from a continuation token. A filtered page may come back short
    /// (even empty) with a continuation: reads on until the page is full or the table ends, within
    /// <paramref name="maxPages"/> so one request stays cheap. A continuation the client library
    /// cannot split into keys throws ArgumentException.
    /// </summary>
    public async Task<(List<Account> Items, string? Continuation)> ListAccountsAsync(string? status, string? prefix, string? continuation,
        int limit, int maxPages, CancellationToken ct = default)
    {
        var filter = Filter(status, prefix);
        var items = new List<Account>();
        for (var pages = 0; pages < maxPages && items.Count < limit; pages++)
        {
            var wanted = limit - items.Count;
            var page = await FirstPageAsync(Table.QueryAsync<Account>(filter, maxPerPage: wanted, cancellationToken: ct).AsPages(continuation, wanted));
            if (page is null) { continuation = null; break; }
            items.AddRange(page.Values);
            continuation = page.ContinuationToken;
            if (continuation is null) break;
        }
        return (items, continuation);
    }

    private static string Filter(string? status, string? prefix)
    {
        var filter = TableClient.CreateQueryFilter($"RowKey eq {Account.Row}");
        if (status is not null) filter += " and " + TableClient.CreateQueryFilter($"Status eq {status}");
        if (prefix is not null)
        {
            // Table filters compare strings ordinally: "starts with p" is p <= x < (p with its last character bumped).
            var low = TableClient.CreateQueryFilter($"{prefix}");
            var high = TableClient.CreateQueryFilter($"{UpperBound(prefix)}");
            var fields = new[] { nameof(Account.EmailSearch), nameof(Account.FirstNameSearch), nameof(Account.LastNameSearch) };
            filter += " and (" + string.Join(" or ", fields.Select(f => $"({f} ge {low} and {f} lt {high})")) + ")";
        }
        return filter;
    }

    private static string UpperBound(string prefix)
    {
        var last = prefix[^1];
        // Bumping a character into or past the surrogate range would make invalid text; the
        // largest BMP character as a suffix is the fallback (it misses only names that continue
        // with a supplementary character there).
        return last < '\ud7ff' ? prefix[..^1] + (char)(last + 1) : prefix + '\uffff';
    }

    private static async Task<Azure.Page<Account>?> FirstPageAsync(IAsyncEnumerable<Azure.Page<Account>> pages)
    {
        await foreach (var page in pages) return page;
        return null;
    }

    /// <summary>One transaction that must succeed (a new account: its id is fresh); throws otherwise.</summary>
    public Task CommitAsync(AccountChange change, CancellationToken ct = default) => Table.SubmitTransactionAsync(change.Actions, ct);

    /// <summary>One transaction in the account's partition; false when a precondition failed (the account changed, or a row exists).</summary>
    public Task<bool> TryCommitAsync(AccountChange change, CancellationToken ct = default) => Table.TrySubmitAsync(change.Actions, ct);
}

/// <summary>
/// What one transaction in an account's partition writes: the account row (replaced with its ETag,
/// inserted, or untouched), and rows beside it. Flows say what changes; this builds the actions.
/// </summary>
public sealed class AccountChange
{
    private readonly List<TableTransactionAction> _actions = [];
    private readonly List<OutboxRow> _mails = [];

    private AccountChange(string accountId) => AccountId = accountId;

    public string AccountId { get; }
    internal IReadOnlyList<TableTransactionAction> Actions => _actions;
    /// <summary>The outbox rows this change commits (the Outbox announces them once it has).</summary>
    public IReadOnlyList<OutboxRow> Mails => _mails;

    /// <summary>The account as changed, written with the ETag it was read with.</summary>
    public static AccountChange Of(Account account)
    {
        var change = new AccountChange(account.Id);
        change._actions.Add(new(TableTransactionActionType.UpdateReplace, account, account.ETag));
        return change;
    }

    /// <summary>A new account (fails if the id exists).</summary>
    public static AccountChange Create(Account account)
    {
        var change = new AccountChange(account.Id);
        change._actions.Add(new(TableTransactionActionType.Add, account));
        return change;
    }

    /// <summary>Rows beside the account, leaving the account row alone.</summary>
    public static AccountChange Beside(string accountId) => new(accountId);

    public AccountChange AddSession(SessionRow session) => Add(session);

    /// <summary>
    /// The last sign-in time as an unconditional merge of that one property, with no ETag: parallel
    /// sign-ins must all succeed (docs/storage.md says why this write may be a wildcard).
    /// </summary>
    public AccountChange TouchLastLogin(DateTimeOffset at)
    {
        _actions.Add(new(TableTransactionActionType.UpdateMerge, new TableEntity(AccountId, Account.Row) { [nameof(Account.LastLoginAt)] = at }, ETag.All));
        return this;
    }

    /// <summary>
    /// Moves one session to the account's new SessionEpoch (merge, no ETag: it commits only with the
    /// ETag-checked account update beside it; docs/storage.md).
    /// </summary>
    public AccountChange KeepSession(string sessionId, int epoch)
    {
        _actions.Add(new(TableTransactionActionType.UpdateMerge,
            new TableEntity(AccountId, SessionRow.Key(sessionId)) { [nameof(SessionRow.Epoch)] = epoch }, ETag.All));
        return this;
    }

    public AccountChange Send(OutboxRow mail)
    {
        _mails.Add(mail);
        return Add(mail);
    }

    /// <summary>Inserts a row of the account's partition (revert rows, recovery codes); fails if it exists.</summary>
    public AccountChange Add(ITableEntity row)
    {
        if (row.PartitionKey != AccountId) throw new InvalidOperationException("A transaction stays in one account's partition.");
        _actions.Add(new(TableTransactionActionType.Add, row));
        return this;
    }
}
