using AccountFunctions.Core;
using AccountFunctions.Core.Storage;
using Microsoft.Extensions.DependencyInjection;
using AccountFunctions.Functions.Tests.Support;
using Azure.Data.Tables;

namespace AccountFunctions.Functions.Tests;

/// <summary>The table primitives the flows rely on, against real Azurite.</summary>
public sealed class StorageContractTests(AppFixture fixture) : IClassFixture<AppFixture>
{
    private TableClient Table => fixture.App.Storage.Identifiers;

    private async Task<IdentifierRow> NewRowAsync()
    {
        await fixture.App.Storage.ReadyAsync();
        var row = new IdentifierRow { PartitionKey = "test-" + Guid.NewGuid().ToString("N"), RowKey = "owner", AccountId = "a" };
        Assert.True(await Table.TryAddAsync(row));
        return (await Table.GetOrNullAsync<IdentifierRow>(row.PartitionKey, row.RowKey))!;
    }

    [Fact]
    public async Task ADuplicateIndexRowConflicts()
    {
        var row = await NewRowAsync();
        Assert.False(await Table.TryAddAsync(new IdentifierRow { PartitionKey = row.PartitionKey, RowKey = row.RowKey, AccountId = "b" }));
        Assert.Equal("a", (await Table.GetOrNullAsync<IdentifierRow>(row.PartitionKey, row.RowKey))!.AccountId);
    }

    [Fact]
    public async Task AStaleETagFailsAnUpdate()
    {
        var row = await NewRowAsync();
        var stale = row.ETag;
        row.AccountId = "b";
        Assert.True(await Table.TryReplaceAsync(row));
        row.ETag = stale;
        row.AccountId = "c";
        Assert.False(await Table.TryReplaceAsync(row));
        Assert.Equal("b", (await Table.GetOrNullAsync<IdentifierRow>(row.PartitionKey, row.RowKey))!.AccountId);
    }

    [Fact]
    public async Task AnUpdateWithoutTheETagItReadIsRefused()
    {
        var row = new IdentifierRow { PartitionKey = "x", RowKey = "y" };
        await Assert.ThrowsAsync<InvalidOperationException>(() => Table.TryReplaceAsync(row));
    }

    [Fact]
    public async Task FiftyParallelConsumptionsOfOneRowHaveExactlyOneWinner()
    {
        for (var round = 0; round < 5; round++)
        {
            var row = await NewRowAsync();
            var copies = Enumerable.Range(0, 50).Select(_ => new IdentifierRow { PartitionKey = row.PartitionKey, RowKey = row.RowKey, ETag = row.ETag });

            var results = await Task.WhenAll(copies.Select(c => Table.TryConsumeAsync(c, "v1")));

            Assert.Equal(1, results.Count(r => r));
            Assert.Null(await Table.GetOrNullAsync<IdentifierRow>(row.PartitionKey, row.RowKey));
        }
    }

    [Fact]
    public async Task AConsumedVersionStaysConsumedEvenIfTheRowCouldNotBeDeleted()
    {
        var row = await NewRowAsync();
        var stale = new IdentifierRow { PartitionKey = row.PartitionKey, RowKey = row.RowKey, ETag = row.ETag };
        row.AccountId = "changed";
        Assert.True(await Table.TryReplaceAsync(row)); // the row moved on: the consumer's delete will not match

        Assert.True(await Table.TryConsumeAsync(stale, "v1"));
        Assert.NotNull(await Table.GetOrNullAsync<IdentifierRow>(row.PartitionKey, row.RowKey));
        Assert.False(await Table.TryConsumeAsync(row, "v1"));
        Assert.True(await Table.TryConsumeAsync(row, "v2"));
    }

    [Fact]
    public async Task AConditionalDeleteWithAStaleETagFails()
    {
        var row = await NewRowAsync();
        var stale = new IdentifierRow { PartitionKey = row.PartitionKey, RowKey = row.RowKey, ETag = row.ETag };
        row.AccountId = "b";
        Assert.True(await Table.TryReplaceAsync(row));

        Assert.False(await Table.TryDeleteAsync(stale));
        Assert.NotNull(await Table.GetOrNullAsync<IdentifierRow>(row.PartitionKey, row.RowKey));
    }

    [Fact]
    public async Task ATransactionWithAStaleETagWritesNothing()
    {
        var row = await NewRowAsync();
        var stale = row.ETag;
        row.AccountId = "b";
        Assert.True(await Table.TryReplaceAsync(row));
        row.ETag = stale;
        var extra = new IdentifierRow { PartitionKey = row.PartitionKey, RowKey = "extra", AccountId = "z" };

        Assert.False(await Table.TrySubmitAsync([new(TableTransactionActionType.UpdateReplace, row, stale), new(TableTransactionActionType.Add, extra)]));
        Assert.Null(await Table.GetOrNullAsync<IdentifierRow>(row.PartitionKey, "extra"));
    }

    [Fact]
    public async Task TheRetryHelperGivesUpWithAConcurrencyConflictWhenTheRowKeepsChanging()
    {
        var row = await NewRowAsync();
        var attempts = 0;
        await Assert.ThrowsAsync<AccountFunctions.Core.ConcurrencyConflictException>(() => Optimistic.RetryAsync(async _ =>
        {
            attempts++;
            var read = (await Table.GetOrNullAsync<IdentifierRow>(row.PartitionKey, row.RowKey))!;
            var other = (await Table.GetOrNullAsync<IdentifierRow>(row.PartitionKey, row.RowKey))!;
            other.AccountId = "other-" + attempts;
            Assert.True(await Table.TryReplaceAsync(other)); // a concurrent writer wins every time
            read.AccountId = "mine";
            return await Table.TryReplaceAsync(read);
        }, "kept changing"));
        Assert.Equal(Optimistic.Attempts, attempts);
        Assert.Equal("other-" + attempts, (await Table.GetOrNullAsync<IdentifierRow>(row.PartitionKey, row.RowKey))!.AccountId);
    }

    [Fact]
    public async Task TheRetryHelperRereadsAndWinsOnceTheRaceIsOver()
    {
        var row = await NewRowAsync();
        var attempts = 0;
        await Optimistic.RetryAsync(async attempt =>
        {
            attempts++;
            var read = (await Table.GetOrNullAsync<IdentifierRow>(row.PartitionKey, row.RowKey))!;
            if (attempt < 2)
            {
                var other = (await Table.GetOrNullAsync<IdentifierRow>(row.PartitionKey, row.RowKey))!;
                other.AccountId = "other";
                Assert.True(await Table.TryReplaceAsync(other));
            }
            read.AccountId = "mine";
            return await Table.TryReplaceAsync(read);
        }, "kept changing");
        Assert.Equal(3, attempts);
        Assert.Equal("mine", (await Table.GetOrNullAsync<IdentifierRow>(row.PartitionKey, row.RowKey))!.AccountId);
    }

    // --- the table classes

    private AccountsTable Accounts => fixture.App.Services.GetRequiredService<AccountsTable>();

    private async Task<Account> NewAccountAsync()
    {
        var account = Account.New(Account.NewId(), DateTimeOffset.UtcNow);
        await Accounts.CreateAsync(account);
        return (await Accounts.GetAsync(account.Id))!;
    }

    [Fact]
    public async Task ASecondAccountWithTheSameIdConflicts()
    {
        var account = await NewAccountAsync();
        Assert.False(await Accounts.TryCommitAsync(AccountChange.Create(Account.New(account.Id, DateTimeOffset.UtcNow))));
        await Assert.ThrowsAnyAsync<Azure.RequestFailedException>(() => Accounts.CreateAsync(Account.New(account.Id, DateTimeOffset.UtcNow)));
    }

    [Fact]
    public async Task AnAccountChangeWithAStaleETagWritesNothing()
    {
        var account = await NewAccountAsync();
        var stale = (await Accounts.GetAsync(account.Id))!;
        account.FirstName = "first";
        Assert.True(await Accounts.TryReplaceAsync(account));

        stale.FirstName = "second";
        var session = new SessionRow { PartitionKey = account.Id, RowKey = SessionRow.Key("s1"), ExpiresAt = DateTimeOffset.UtcNow.AddHours(1) };
        Assert.False(await Accounts.TryReplaceAsync(stale));
        Assert.False(await Accounts.TryCommitAsync(AccountChange.Of(stale).AddSession(session)));
        Assert.Null(await Accounts.GetSessionAsync(account.Id, "s1"));
        Assert.Equal("first", (await Accounts.GetAsync(account.Id))!.FirstName);
    }

    [Fact]
    public async Task ASignInWithoutTheAccountsETagCommitsBesideAConcurrentChange()
    {
        var account = await NewAccountAsync();
        var stale = (await Accounts.GetAsync(account.Id))!;
        account.FirstName = "changed";
        Assert.True(await Accounts.TryReplaceAsync(account));

        var session = new SessionRow { PartitionKey = account.Id, RowKey = SessionRow.Key("s2"), ExpiresAt = DateTimeOffset.UtcNow.AddHours(1) };
        Assert.True(await Accounts.TryCommitAsync(AccountChange.Beside(stale.Id).AddSession(session).TouchLastLogin(DateTimeOffset.UtcNow)));
        var read = (await Accounts.GetAsync(account.Id))!;
        Assert.Equal("changed", read.FirstName); // the merge touched only LastLoginAt
        Assert.NotNull(read.LastLoginAt);
        Assert.NotNull(await Accounts.GetSessionAsync(account.Id, "s2"));
    }

    [Fact]
    public async Task ARowOfAnotherPartitionCannotJoinAnAccountChange()
    {
        var account = await NewAccountAsync();
        Assert.Throws<InvalidOperationException>(() =>
            AccountChange.Of(account).AddSession(new SessionRow { PartitionKey = Account.NewId(), RowKey = SessionRow.Key("s3") }));
    }

    [Fact]
    public async Task ADuplicateEmailOwnerRowConflicts()
    {
        var identifiers = fixture.App.Services.GetRequiredService<IdentifierIndex>();
        var hash = Guid.NewGuid().ToString("N");
        Assert.True(await identifiers.TryAddEmailOwnerAsync(hash, "a", DateTimeOffset.UtcNow));
        Assert.False(await identifiers.TryAddEmailOwnerAsync(hash, "b", DateTimeOffset.UtcNow));
        Assert.Equal("a", (await identifiers.GetEmailOwnerAsync(hash))!.AccountId);
    }

    [Fact]
    public async Task AThrottleRowIsInsertedOnceAndThenOnlyReplacedWithItsETag()
    {
        var identifiers = fixture.App.Services.GetRequiredService<IdentifierIndex>();
        var partition = IdentifierIndex.EmailOwnerKey(Guid.NewGuid().ToString("N"));
        Assert.True(await identifiers.TryWriteThrottleAsync(new ThrottleRow { PartitionKey = partition, Failures = 1 }, isNew: true));
        Assert.False(await identifiers.TryWriteThrottleAsync(new ThrottleRow { PartitionKey = partition, Failures = 1 }, isNew: true));
        var read = (await identifiers.GetThrottleAsync(partition))!;
        var stale = (await identifiers.GetThrottleAsync(partition))!;
        read.Failures = 2;
        Assert.True(await identifiers.TryWriteThrottleAsync(read, isNew: false));
        stale.Failures = 3;
        Assert.False(await identifiers.TryWriteThrottleAsync(stale, isNew: false));
        Assert.Equal(2, (await identifiers.GetOwnerAndThrottleAsync(partition)).Throttle!.Failures);
    }

    [Fact]
    public async Task ADueMarkerMovedMeanwhileIsNotRemovedByAStaleSweep()
    {
        var due = fixture.App.Services.GetRequiredService<DueTable>();
        var rowKey = Account.NewId();
        var at = DateTimeOffset.UtcNow.AddYears(-1);
        await due.SetAsync(DueRow.For(DueRow.Deadline, rowKey, at));
        var read = (await DueAsync(due, at, rowKey))!;
        await due.SetAsync(DueRow.For(DueRow.Deadline, rowKey, at)); // moved: a new ETag
        Assert.False(await due.TryRemoveAsync(read));
        await due.RemoveAsync(DueRow.Deadline, at, rowKey);
        Assert.Null(await DueAsync(due, at, rowKey));
    }

    [Fact]
    public async Task ASecondTryRowWithTheSameNumberConflicts()
    {
        var tokens = fixture.App.Services.GetRequiredService<TokensTable>();
        var tokenId = Guid.NewGuid().ToString("N");
        Assert.True(await tokens.ReserveTryAsync(tokenId, 1, DateTimeOffset.UtcNow));
        Assert.False(await tokens.ReserveTryAsync(tokenId, 1, DateTimeOffset.UtcNow));
        Assert.True(await tokens.ReserveTryAsync(tokenId, 2, DateTimeOffset.UtcNow));
        Assert.Equal((2, false), await tokens.CountTriesAsync(tokenId));
    }

    [Fact]
    public async Task ACodeIsConsumedOncePerNonceAndAResentCodeIsANewVersion()
    {
        var tokens = fixture.App.Services.GetRequiredService<TokensTable>();
        var (subject, accountId) = (Guid.NewGuid().ToString("N"), Account.NewId());
        await tokens.SetCodeAsync("test", subject, new CodeRow { AccountId = accountId, Nonce = "n1", AttemptsLeft = 5, ExpiresAt = DateTimeOffset.UtcNow.AddMinutes(5) });
        var first = (await tokens.GetCodeAsync("test", subject, accountId))!;
        Assert.True(await tokens.TryConsumeCodeAsync(first));
        Assert.False(await tokens.TryConsumeCodeAsync(first));

        await tokens.SetCodeAsync("test", subject, new CodeRow { AccountId = accountId, Nonce = "n2", AttemptsLeft = 5, ExpiresAt = DateTimeOffset.UtcNow.AddMinutes(5) });
        Assert.Single(await tokens.ListCodesAsync("test", subject, 20)); // markers are not codes
        Assert.True(await tokens.TryConsumeCodeAsync((await tokens.GetCodeAsync("test", subject, accountId))!));
    }

    [Fact]
    public async Task AnAuditEventHasOneRowKeyInItsDayAndAccountPartitionsAndDecoysNeverAccumulate()
    {
        var audit = fixture.App.Services.GetRequiredService<AuditTable>();
        var accountId = Account.NewId();
        var at = DateTimeOffset.UtcNow.AddYears(-2);
        var row = new AuditRow { RowKey = AuditTable.NewRowKey(at), At = at, Type = "test", AccountId = accountId };
        await audit.AddAsync(row, accountId, null);

        var byAccount = await audit.ListAccountAsync(accountId);
        Assert.Equal(row.RowKey, Assert.Single(byAccount).RowKey);
        var byDay = new List<AuditRow>();
        await audit.ReadDayAsync(AuditTable.Day(at), null, byDay, 1000);
        Assert.Contains(byDay, r => r.RowKey == row.RowKey && r.AccountId == accountId && AuditTable.DayOf(r) == AuditTable.Day(at));

        await audit.AddDecoysAsync();
        await audit.AddDecoysAsync(); // the placeholder rows exist: conflicts, ignored
    }

    private static async Task<DueRow?> DueAsync(DueTable due, DateTimeOffset at, string rowKey)
    {
        await foreach (var row in due.ListDueAsync(DueRow.Deadline, at.AddMinutes(1)))
            if (row.RowKey == rowKey) return row;
        return null;
    }
}
