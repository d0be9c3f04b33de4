using AccountFunctions.Core.Security;
using AccountFunctions.Core.Storage;

namespace AccountFunctions.Core.Security;

/// <summary>
/// Per-identifier throttle with growing back-off: <c>Lockout__MaxFailedAttempts</c> failures within
/// <c>Lockout__Duration</c> block the identifier for <c>Duration</c>; each further block within
/// <c>Lockout__StrikeMemory</c> of the last doubles, up to <c>Lockout__MaxDuration</c>.
/// </summary>
public sealed class LoginThrottle(IdentifierIndex identifiers, LoginThrottleOptions options, TimeProvider time)
{
    /// <summary>The owner row and the throttle row of one identifier partition, in one query.</summary>
    public Task<(IdentifierRow? Owner, ThrottleRow? Throttle)> ReadAsync(string partition, CancellationToken ct) =>
        identifiers.GetOwnerAndThrottleAsync(partition, ct);

    /// <summary>How long the identifier must still wait, if it is blocked.</summary>
    public TimeSpan? Blocked(ThrottleRow? row)
    {
        var now = time.GetUtcNow();
        return row?.BlockedUntil is { } until && until > now ? until - now : null;
    }

    /// <summary>
    /// Reserves one try before the password is checked (issue 23: counted first, so requests in flight
    /// together cannot all pass a check made before any of them was counted). The try counts as a
    /// failure from now on; a right password gives it back (<see cref="GiveBackAsync"/>), a wrong one
    /// confirms it (<see cref="ConfirmFailureAsync"/>). Refused while the identifier is blocked, and
    /// while its window's failures and tries in flight already reach the limit. Written with the ETag
    /// read (racers retry with jittered back-off); a count that still cannot be written refuses.
    /// </summary>
    public async Task<ThrottleReservation> ReserveAsync(string partition, ThrottleRow? row, CancellationToken ct)
    {
        var reservation = new ThrottleReservation(partition, null, TimeSpan.FromSeconds(1));
        await Optimistic.TryRetryAsync(async _ =>
        {
            var now = time.GetUtcNow();
            if (Blocked(row) is { } wait)
            {
                reservation = reservation with { RetryAfter = wait };
                return true;
            }
            var next = row ?? new ThrottleRow { PartitionKey = partition };
            if (!TryReserve(next, now, options))
            {
                reservation = reservation with { RetryAfter = TimeSpan.FromSeconds(1) };
                return true;
            }
            if (await identifiers.TryWriteThrottleAsync(next, isNew: row is null, ct))
            {
                // An insert does not hand back its ETag: a later write of this row reads it again.
                reservation = new ThrottleReservation(partition, row is null ? null : next, TimeSpan.Zero, Reserved: true, Failures: next.Failures);
                return true;
            }
            row = await identifiers.GetThrottleAsync(partition, ct);
            return false;
        }, ct);
        return reservation;
    }

    /// <summary>
    /// The reserved try was a wrong password: it stays counted; the try that reached the limit starts
    /// the block (once, with the ETag). True when this failure started a block.
    /// </summary>
    public async Task<bool> ConfirmFailureAsync(ThrottleReservation reservation, CancellationToken ct)
    {
        if (!reservation.Reserved) return false;
        // Below the limit as this try wrote it: nothing to write (the try that reaches it blocks).
        if (reservation.Failures < options.MaxFailedAttempts) return false;
        var row = reservation.Row;
        var blocks = false;
        await Optimistic.RetryAsync(async attempt =>
        {
            if (row is null || attempt > 0) row = await identifiers.GetThrottleAsync(reservation.Partition, ct);
            var now = time.GetUtcNow();
            if (row is null || Blocked(row) is not null || row.WindowEnd <= now || row.Failures < options.MaxFailedAttempts) return true;
            StartBlock(row, now, options);
            if (!await identifiers.TryWriteThrottleAsync(row, isNew: false, ct)) return false;
            blocks = true;
            return true;
        }, "Could not count a failed login after repeated conflicts.", ct);
        return blocks;
    }

    /// <summary>The reserved try was a right password: it is given back (best effort, same window only).</summary>
    public async Task GiveBackAsync(ThrottleReservation reservation, CancellationToken ct)
    {
        if (!reservation.Reserved) return;
        var row = reservation.Row;
        var window = row?.WindowEnd;
        await Optimistic.TryRetryAsync(async attempt =>
        {
            if (row is null || attempt > 0) row = await identifiers.GetThrottleAsync(reservation.Partition, ct);
            window ??= row?.WindowEnd;
            if (row is null || Blocked(row) is not null || row.WindowEnd != window || row.Failures <= 0) return true;
            row.Failures--;
            return await identifiers.TryWriteThrottleAsync(row, isNew: false, ct);
        }, ct);
    }

    /// <summary>
    /// A current password presented by a signed-in caller (password change, deletion, turning off
    /// TOTP, email change) counts against the account's login throttle like a login (reserved first):
    /// a stolen access token is no password oracle. Null when it is right; the refusal otherwise
    /// (<c>too_many_requests</c>, or <c>wrong_password</c> also for an account without a password).
    /// </summary>
    public async Task<Error?> CheckCurrentPasswordAsync(Account account, string currentPassword, PasswordHasher hasher, CancellationToken ct)
    {
        var partition = AccountPartition(account);
        var reservation = await ReserveAsync(partition, await identifiers.GetThrottleAsync(partition, ct), ct);
        if (!reservation.Reserved) return Errors.TooManyRequests(reservation.RetryAfter);
        if (account.PasswordHash is null) hasher.VerifyDummy(currentPassword);
        if (account.PasswordHash is null || !hasher.Verify(currentPassword, account.PasswordHash))
        {
            await ConfirmFailureAsync(reservation, ct);
            return Errors.WrongPassword;
        }
        await GiveBackAsync(reservation, ct);
        return null;
    }

    /// <summary>The identifier partition whose throttle an account's password checks count on: its address, else its number.</summary>
    public static string AccountPartition(Account account) =>
        account.Email is { } email ? IdentifierIndex.EmailOwnerKey(EmailAddress.Hash(email))
        : account.AccountNumber is { } number ? IdentifierIndex.NumberKey(AccountNumber.Hash(number))
        : IdentifierIndex.NumberKey(Hashes.Sha256Hex("account:" + account.Id)); // neither (rare): no key holds the id

    /// <summary>
    /// Takes one try on <paramref name="row"/> at <paramref name="now"/> (a new window if the last one
    /// ended); false when the window's failures and tries in flight already reach the limit. Pure.
    /// </summary>
    public static bool TryReserve(ThrottleRow row, DateTimeOffset now, LoginThrottleOptions options)
    {
        if (row.WindowEnd <= now)
        {
            row.Failures = 0;
            row.WindowEnd = now + options.Duration;
        }
        if (row.Failures >= options.MaxFailedAttempts) return false;
        row.Failures++;
        return true;
    }

    /// <summary>
    /// Counts one failure on <paramref name="row"/> at <paramref name="now"/>; true when it starts a
    /// block. Pure (no storage), so the back-off is tested on its own.
    /// </summary>
    public static bool CountFailure(ThrottleRow row, DateTimeOffset now, LoginThrottleOptions options)
    {
        if (row.WindowEnd <= now)
        {
            row.Failures = 0;
            row.WindowEnd = now + options.Duration;
        }
        var blocks = ++row.Failures >= options.MaxFailedAttempts;
        if (blocks) StartBlock(row, now, options);
        return blocks;
    }

    /// <summary>Starts a block on <paramref name="row"/>, twice as long as the last one within StrikeMemory.</summary>
    private static void StartBlock(ThrottleRow row, DateTimeOffset now, LoginThrottleOptions options)
    {
        row.Strikes = row.LastStrikeAt is { } last && now - last < options.StrikeMemory ? row.Strikes + 1 : 1;
        row.LastStrikeAt = now;
        row.BlockedUntil = now + BlockFor(row.Strikes, options);
        row.Failures = 0;
        row.WindowEnd = row.BlockedUntil.Value;
    }

    public static TimeSpan BlockFor(int strikes, LoginThrottleOptions options)
    {
        var ticks = options.Duration.Ticks * Math.Pow(2, Math.Clamp(strikes - 1, 0, 30));
        return ticks >= options.MaxDuration.Ticks ? options.MaxDuration : TimeSpan.FromTicks((long)ticks);
    }
}

/// <summary>
/// One try taken on an identifier's throttle (<see cref="LoginThrottle.ReserveAsync"/>): not
/// <see cref="Reserved"/> means refused (<see cref="RetryAfter"/>); <see cref="Row"/> is the row as
/// this try wrote it (null when it inserted the row: its ETag is read again when needed).
/// </summary>
public sealed record ThrottleReservation(string Partition, ThrottleRow? Row, TimeSpan RetryAfter, bool Reserved = false, int Failures = 0);
