using System.Net;
using System.Text;
using System.Text.Json;
using AccountFunctions.Core;
using AccountFunctions.Functions.Tests.Support;
using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;

namespace AccountFunctions.Functions.Tests;

/// <summary>
/// Approval on (so approve and reject happen), a bootstrap admin, a clock the tests move, and
/// every request arriving through a proxy chain whose last hop is <see cref="Ip"/>.
/// </summary>
public sealed class AuditFixture : AppFixture, IAsyncLifetime
{
    public const string Ip = "198.51.100.23";
    public string AdminEmail { get; } = TestApp.NewEmail("admin");
    public string AdminId { get; private set; } = "";
    protected override bool FakeClock => true;

    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Accounts:BootstrapAdmins"] = AdminEmail,
        ["Accounts:RequireAdminApproval"] = "true",
    };

    public new async Task InitializeAsync()
    {
        await base.InitializeAsync();
        // The first entry is what a client could write itself; the last is the front end's.
        App.Http.DefaultRequestHeaders.Add("X-Forwarded-For", "10.9.8.7, " + Ip);
        await App.SignupVerifiedAsync(AdminEmail);
        AdminId = (await App.LoginAsync(AdminEmail)).GetProperty("account").GetProperty("id").GetString()!;
    }
}

public sealed class AuditTests(AuditFixture fixture) : IClassFixture<AuditFixture>
{
    private TestApp App => fixture.App;
    private const string Ip = AuditFixture.Ip;

    [Fact]
    public async Task EmailChangeRevertAndTwoFactorEventsAreRecorded()
    {
        var (email, id) = await ActiveUserAsync();
        var access = Access(await App.LoginAsync(email));
        // Two-factor: on, a wrong code, a right one, off.
        var setup = await TestApp.Body(await App.PostAsync("/api/me/mfa/totp", new { }, access));
        var secret = OtpNet.Base32Encoding.ToBytes(setup.GetProperty("secret").GetString()!);
        string Code(int stepsAhead) => new OtpNet.Totp(secret).ComputeTotp(App.Clock!.GetUtcNow().UtcDateTime.AddSeconds(30 * stepsAhead));
        Assert.Equal(HttpStatusCode.OK, (await App.PostAsync("/api/me/mfa/totp/confirm", new { code = Code(0) }, access)).StatusCode);
        var mfaToken = (await TestApp.Body(await App.PostAsync("/api/login", new { identifier = email, password = TestApp.Password }))).GetProperty("mfaToken").GetString();
        var wrong = Code(0) == "000000" ? "111111" : "000000";
        Assert.Equal("invalid_code", await TestApp.Code(await App.PostAsync("/api/login/mfa", new { mfaToken, code = wrong })));
        App.Clock!.Advance(TimeSpan.FromSeconds(30));
        Assert.Equal(HttpStatusCode.OK, (await App.PostAsync("/api/login/mfa", new { mfaToken, code = Code(0) })).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await App.SendAsync(HttpMethod.Delete, "/api/me/mfa/totp", new { currentPassword = TestApp.Password }, access)).StatusCode);
        // Email change, then the revert link from the notice to the old address.
        var before = App.Mail.To(email).Count;
        Assert.Equal(HttpStatusCode.Accepted,
            (await App.PostAsync("/api/me/email", new { currentPassword = TestApp.Password, newEmail = TestApp.NewEmail("moved") }, access)).StatusCode);
        var notice = (await App.Mail.WaitForAsync(email, before + 1))[before];
        Assert.Equal(HttpStatusCode.OK, (await App.PostAsync("/api/email/revert", new { token = notice.Token })).StatusCode);

        var (events, raw) = await EventsAsync(id);

        // The password step with MFA on is no sign-in yet: only the second step records one.
        Assert.Equal(["email_reverted", "email_change_requested", "mfa_disabled", "login_succeeded", "login_failed", "mfa_enabled", "login_succeeded"],
            events.Take(7).Select(Type));
        Assert.All(events.Take(7), e => Assert.Equal(Ip, e.GetProperty("ip").GetString()));
        Assert.Equal("totp", Detail(events[3], "factor"));
        Assert.Equal("invalid_code", Detail(events[4], "reason"));
        Assert.Equal("email_restored", Detail(events[0], "outcome"));
        Assert.DoesNotContain(notice.Token!, raw);
        Assert.DoesNotContain(setup.GetProperty("secret").GetString()!, raw);
    }

    [Fact]
    public async Task SignInAndSessionEventsAreRecordedWithTheLastForwardedHop()
    {
        var (email, id) = await ActiveUserAsync();
        Assert.Equal("invalid_credentials", await TestApp.Code(await App.PostAsync("/api/login", new { identifier = email, password = "not the passphrase" })));
        var first = await App.LoginAsync(email);
        var magic = await MagicLinkAsync(email);
        Assert.Equal(HttpStatusCode.OK, (await App.PostAsync("/api/login/email/redeem", new { token = magic.Token })).StatusCode);
        var second = await App.LoginAsync(email);
        var secondId = (await TestApp.Body(await App.GetAsync("/api/me/sessions", Access(second))))
            .EnumerateArray().Single(s => s.GetProperty("current").GetBoolean()).GetProperty("id").GetString();
        Assert.Equal(HttpStatusCode.NoContent, (await App.SendAsync(HttpMethod.Delete, $"/api/me/sessions/{secondId}", bearer: Access(first))).StatusCode);
        var oldRefresh = first.GetProperty("refreshToken").GetString();
        Assert.Equal(HttpStatusCode.OK, (await App.PostAsync("/api/token/refresh", new { refreshToken = oldRefresh })).StatusCode);
        App.Clock!.Advance(TimeSpan.FromSeconds(11)); // past the reuse grace
        Assert.Equal("token_reused", await TestApp.Code(await App.PostAsync("/api/token/refresh", new { refreshToken = oldRefresh })));
        var third = await App.LoginAsync(email);
        Assert.Equal(HttpStatusCode.NoContent, (await App.PostAsync("/api/logout", new { refreshToken = third.GetProperty("refreshToken").GetString() })).StatusCode);

        var (events, raw) = await EventsAsync(id);

        Assert.Equal(
            ["logout", "login_succeeded", "session_reuse_detected", "session_revoked", "login_succeeded", "magic_link_redeemed",
             "magic_link_sent", "login_succeeded", "login_failed", "account_approved", "email_verified", "signup"],
            events.Select(Type));
        Assert.All(events, e => Assert.Equal(id, e.GetProperty("accountId").GetString()));
        Assert.All(events, e => Assert.Equal(Ip, e.GetProperty("ip").GetString()));
        Assert.Equal("invalid_credentials", Detail(events.Single(e => Type(e) == "login_failed"), "reason"));
        Assert.Equal(secondId, Detail(events.Single(e => Type(e) == "session_revoked"), "session"));
        Assert.Equal(fixture.AdminId, Detail(events.Single(e => Type(e) == "account_approved"), "by"));
        var times = events.Select(e => e.GetProperty("at").GetDateTimeOffset()).ToList();
        Assert.Equal(times.OrderByDescending(t => t), times);
        // Never the typed identifier, a password, a token or a code.
        Assert.DoesNotContain(email, raw, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("not the passphrase", raw);
        Assert.DoesNotContain(TestApp.Password, raw);
        Assert.DoesNotContain(magic.Token!, raw);
        Assert.DoesNotContain(magic.Code!, raw);
        Assert.DoesNotContain(oldRefresh!, raw);
    }

    [Fact]
    public async Task TheThrottleIsRecordedOnceWhenReachedAndUnknownIdentifiersLeaveNoTrace()
    {
        var (email, id) = await ActiveUserAsync();
        for (var i = 0; i < 10; i++)
            Assert.Equal("invalid_credentials", await TestApp.Code(await App.PostAsync("/api/login", new { identifier = email, password = "wrong passphrase " + i })));
        Assert.Equal("too_many_requests", await TestApp.Code(await App.PostAsync("/api/login", new { identifier = email, password = TestApp.Password })));

        var (events, _) = await EventsAsync(id);
        var newest = await NewestAsync();
        Assert.Equal("invalid_credentials", await TestApp.Code(await App.PostAsync("/api/login", new { identifier = TestApp.NewEmail("ghost"), password = "whatever it is" })));
        Assert.Equal(HttpStatusCode.Accepted, (await App.PostAsync("/api/password/forgot", new { email = TestApp.NewEmail("ghost") })).StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, (await App.PostAsync("/api/login/email", new { email = TestApp.NewEmail("ghost") })).StatusCode);

        Assert.Equal(10, events.Count(e => Type(e) == "login_failed"));
        var throttled = Assert.Single(events, e => Type(e) == "login_throttled");
        Assert.Equal("login_throttled", Type(events[0])); // recorded with the 10th failure; the refused 11th adds nothing
        Assert.Equal("10", Detail(throttled, "failures"));
        Assert.Equal(newest, await NewestAsync()); // nothing recorded for unknown addresses
    }

    [Fact]
    public async Task RecoveryEventsAreRecorded()
    {
        var (email, id) = await ActiveUserAsync();
        Assert.Equal(HttpStatusCode.Accepted, (await App.PostAsync("/api/password/forgot", new { email })).StatusCode);
        var reset = (await App.Mail.WaitForAsync(email, 3)).Single(m => m.Subject == "Reset your password");
        const string newPassword = "a brand new passphrase for this";
        Assert.Equal(HttpStatusCode.NoContent, (await App.PostAsync("/api/password/reset", new { token = reset.Token, newPassword })).StatusCode);
        var session = await App.LoginAsync(email, newPassword);
        var changed = await App.PostAsync("/api/me/password", new { currentPassword = newPassword, newPassword = TestApp.Password }, Access(session));
        Assert.Equal(HttpStatusCode.NoContent, changed.StatusCode);

        var (events, raw) = await EventsAsync(id);

        Assert.Equal(["password_changed", "login_succeeded", "password_reset", "password_reset_requested"], events.Take(4).Select(Type));
        Assert.All(events.Take(4), e => Assert.Equal(Ip, e.GetProperty("ip").GetString()));
        Assert.DoesNotContain(newPassword, raw);
        Assert.DoesNotContain(reset.Token!, raw);
    }

    [Fact]
    public async Task AdminActionsRecordTheActingAdmin()
    {
        var admin = await AdminAsync();
        var (_, rejected) = await PendingUserAsync();
        Assert.Equal(HttpStatusCode.OK, (await App.SendAsync(HttpMethod.Post, $"/api/manage/users/{rejected}/reject", new { reason = "staff only" }, admin)).StatusCode);
        var (_, id) = await ActiveUserAsync();
        Assert.Equal(HttpStatusCode.OK, (await App.SendAsync(HttpMethod.Post, $"/api/manage/users/{id}/lock", new { reason = "odd activity" }, admin)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await App.SendAsync(HttpMethod.Post, $"/api/manage/users/{id}/unlock", bearer: admin)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await App.SendAsync(HttpMethod.Patch, $"/api/manage/users/{id}", new { role = "admin" }, admin)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await App.SendAsync(HttpMethod.Patch, $"/api/manage/users/{id}", new { firstName = "Grace" }, admin)).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await App.SendAsync(HttpMethod.Post, "/api/manage/invites", new { email = TestApp.NewEmail("invited") }, admin)).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await App.SendAsync(HttpMethod.Delete, $"/api/manage/users/{rejected}", bearer: admin)).StatusCode);

        var (events, _) = await EventsAsync(id);
        var (adminEvents, _) = await EventsAsync(fixture.AdminId);
        var (all, _) = await EventsAsync(null);

        Assert.Equal(["profile_changed", "role_changed", "account_unlocked", "account_locked", "account_approved"], events.Take(5).Select(Type));
        Assert.All(events.Take(5), e => Assert.Equal(fixture.AdminId, Detail(e, "by")));
        Assert.All(events.Take(5), e => Assert.Equal(Ip, e.GetProperty("ip").GetString()));
        Assert.Equal("firstName", Detail(events[0], "fields"));
        Assert.Equal(("user", "admin"), (Detail(events[1], "from"), Detail(events[1], "to")));
        Assert.Equal("active", Detail(events[2], "status"));
        Assert.Equal("odd activity", Detail(events[3], "reason"));
        // The admin's own list holds what the admin did, newest first.
        Assert.Equal(["account_deleted", "invite_created", "profile_changed", "role_changed", "account_unlocked", "account_locked"],
            adminEvents.Take(6).Select(Type));
        var invite = adminEvents[1];
        Assert.Equal(JsonValueKind.Null, invite.GetProperty("accountId").ValueKind);
        Assert.Equal("yes", Detail(invite, "boundToEmail"));
        var deleted = adminEvents[0];
        Assert.StartsWith("deleted-", deleted.GetProperty("accountId").GetString());
        Assert.Equal(Ip, deleted.GetProperty("ip").GetString());
        Assert.Equal(fixture.AdminId, Detail(deleted, "by"));
        // The rejection now belongs to the pseudonym, without its reason.
        var (pseudonymous, _) = await EventsAsync(deleted.GetProperty("accountId").GetString());
        var rejection = Assert.Single(pseudonymous, e => Type(e) == "account_rejected");
        Assert.Equal(JsonValueKind.Null, rejection.GetProperty("ip").ValueKind);
        Assert.Equal(fixture.AdminId, Detail(rejection, "by"));
        Assert.Null(Detail(rejection, "reason"));
        Assert.Equal("account_deleted", Type(all[0]));
    }

    [Fact]
    public async Task TheSweepsLockIsRecordedWithItsReason()
    {
        var email = TestApp.NewEmail("late");
        await App.SignupAsync(email);
        App.Clock!.Advance(TimeSpan.FromDays(3) + TimeSpan.FromSeconds(1));
        await App.SweepAsync();
        var id = await IdOfAsync(email);

        var (events, _) = await EventsAsync(id);

        Assert.Equal(["account_locked", "signup"], events.Select(Type));
        Assert.Equal("sweep", Detail(events[0], "by"));
        Assert.Equal("email_unconfirmed", Detail(events[0], "reason"));
        Assert.Equal(JsonValueKind.Null, events[0].GetProperty("ip").ValueKind);
    }

    [Fact]
    public async Task PagesGoNewestFirstThroughTheCursorForOneAccountAndAcrossDaysForAll()
    {
        var (_, id) = await ActiveUserAsync();
        // 90 admin edits over three days (one without events in between), a millisecond apart.
        for (var day = 0; day < 3; day++)
        {
            if (day > 0) App.Clock!.Advance(TimeSpan.FromDays(day));
            var admin = await AdminAsync();
            for (var i = 0; i < 30; i++)
            {
                App.Clock!.Advance(TimeSpan.FromMilliseconds(1));
                var patch = await App.SendAsync(HttpMethod.Patch, $"/api/manage/users/{id}", new { lastName = $"Edit{day}-{i}" }, admin);
                Assert.Equal(HttpStatusCode.OK, patch.StatusCode);
            }
        }

        var first = await PageAsync($"accountId={id}", null);
        var second = await PageAsync($"accountId={id}", first.Cursor);
        var small = await WalkAsync($"accountId={id}&limit=7");
        var everything = await WalkAsync("");

        Assert.Equal(50, first.Items.Count);
        Assert.NotNull(first.Cursor);
        Assert.Equal(43, second.Items.Count); // 90 edits + signup, verified, approved
        Assert.Null(second.Cursor);
        var mine = first.Items.Concat(second.Items).ToList();
        Assert.Equal("signup", Type(mine[^1]));
        var edits = mine.Where(e => Type(e) == "profile_changed").Select(e => e.GetProperty("at").GetDateTimeOffset()).ToList();
        Assert.Equal(90, edits.Count);
        Assert.Equal(edits.OrderByDescending(t => t), edits);
        Assert.Equal(90, edits.Distinct().Count());
        Assert.Equal(mine.Select(e => e.GetRawText()), small.Select(e => e.GetRawText()));
        // The unfiltered walk crosses the day partitions and holds each of them once, in order.
        var mineInAll = everything.Where(e => e.GetProperty("accountId").GetString() == id).ToList();
        Assert.Equal(mine.Select(e => e.GetRawText()), mineInAll.Select(e => e.GetRawText()));
        var allTimes = everything.Select(e => e.GetProperty("at").GetDateTimeOffset()).ToList();
        Assert.Equal(allTimes.OrderByDescending(t => t), allTimes);
        Assert.True(everything.Count > 100);
    }

    [Fact]
    public async Task OnlyAdminsMayReadTheAuditTrail()
    {
        var (email, _) = await ActiveUserAsync();
        var user = Access(await App.LoginAsync(email));

        var anonymous = await App.GetAsync("/api/manage/audit");
        var forbidden = await App.GetAsync("/api/manage/audit", user);

        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        Assert.Equal("unauthorized", await TestApp.Code(anonymous));
        Assert.Equal(HttpStatusCode.Forbidden, forbidden.StatusCode);
        Assert.Equal("forbidden", await TestApp.Code(forbidden));
    }

    [Fact]
    public async Task ABadCursorLimitOrAccountIdIsABadRequest()
    {
        var admin = await AdminAsync();
        var accountCursor = (await PageAsync($"accountId={fixture.AdminId}&limit=1", null)).Cursor!;
        var allCursor = (await PageAsync("limit=1", null)).Cursor!;
        static string B64(string s) => Convert.ToBase64String(Encoding.UTF8.GetBytes(s)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

        foreach (var (query, field) in new[]
        {
            ("cursor=not*base64", "cursor"),
            ($"cursor={B64("hello")}", "cursor"),
            ($"cursor={B64("d:20251399:0000000000000000001-0000000001-abcdef01")}", "cursor"),
            ($"cursor={B64("a:123")}", "cursor"),
            ($"cursor={B64("a:0000000000000000001-0000000001-abcdef01' or 'x'='x")}", "cursor"),
            ($"cursor={accountCursor}", "cursor"), // an account's cursor without the account
            ($"accountId={fixture.AdminId}&cursor={allCursor}", "cursor"),
            ($"cursor={new string('A', 5000)}", "cursor"),
            ("limit=0", "limit"),
            ("limit=201", "limit"),
            ("limit=ten", "limit"),
            ("accountId=ABC", "accountId"),
            ("accountId=deleted-xyz", "accountId"),
        })
        {
            var response = await App.GetAsync($"/api/manage/audit?{query}", admin);
            Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{query}: {(int)response.StatusCode}");
            var body = await TestApp.Body(response);
            Assert.Equal("validation_failed", body.GetProperty("code").GetString());
            Assert.True(body.GetProperty("errors").TryGetProperty(field, out _), query);
        }
        Assert.Equal(HttpStatusCode.OK, (await App.GetAsync($"/api/manage/audit?accountId={fixture.AdminId}&cursor={accountCursor}", admin)).StatusCode);
    }

    [Fact]
    public async Task DeletingAnAccountPseudonymisesItsTrailAndLeavesItsIdInNoTable()
    {
        var (email, id) = await ActiveUserAsync();
        var admin = await AdminAsync();
        // The account acts as an admin on someone else, so its id is in another account's trail too.
        Assert.Equal(HttpStatusCode.OK, (await App.SendAsync(HttpMethod.Patch, $"/api/manage/users/{id}", new { role = "admin" }, admin)).StatusCode);
        var (_, other) = await ActiveUserAsync();
        var session = await App.LoginAsync(email);
        Assert.Equal(HttpStatusCode.OK, (await App.SendAsync(HttpMethod.Post, $"/api/manage/users/{other}/lock", new { reason = "testing" }, Access(session))).StatusCode);
        // Live links of every kind, a failed login, a second session.
        Assert.Equal("invalid_credentials", await TestApp.Code(await App.PostAsync("/api/login", new { identifier = email, password = "not the passphrase" })));
        await App.LoginAsync(email);
        await MagicLinkAsync(email);
        Assert.Equal(HttpStatusCode.Accepted, (await App.PostAsync("/api/password/forgot", new { email })).StatusCode);
        await WaitForSubjectAsync(email, "Reset your password");
        var pseudonym = await App.Services.GetRequiredService<Core.Audit.AuditLog>().PseudonymAsync(id);

        var deleted = await App.SendAsync(HttpMethod.Delete, "/api/me", new { currentPassword = TestApp.Password }, Access(session));

        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        var tables = await TablesAsync();
        Assert.Contains(tables, t => t.Name.EndsWith("audit"));
        Assert.True(tables.Count >= 7, string.Join(", ", tables.Select(t => t.Name)));
        var leftovers = new List<string>();
        foreach (var table in tables)
            await foreach (var row in table.QueryAsync<TableEntity>())
            {
                var text = row.PartitionKey + " " + row.RowKey + " " + string.Join(" ", row.Select(kv => kv.Value?.ToString()));
                if (text.Contains(id, StringComparison.OrdinalIgnoreCase)) leftovers.Add($"{table.Name}: {row.PartitionKey} / {row.RowKey}");
            }
        Assert.Empty(leftovers);

        var (trail, raw) = await EventsAsync(pseudonym);
        Assert.Equal("account_deleted", Type(trail[0]));
        Assert.Equal("self", Detail(trail[0], "by"));
        Assert.Equal("signup", Type(trail[^1]));
        Assert.All(trail, e => Assert.Equal(JsonValueKind.Null, e.GetProperty("ip").ValueKind));
        Assert.All(trail, e => Assert.True(e.GetProperty("accountId").GetString() == pseudonym || Detail(e, "by") == pseudonym, e.GetRawText()));
        Assert.Contains(trail, e => Type(e) == "account_locked" && e.GetProperty("accountId").GetString() == other);
        Assert.DoesNotContain("invalid_credentials", raw); // detail dropped
        // In the other account's trail the lock stays, its reason too, done by the pseudonym.
        var (otherTrail, _) = await EventsAsync(other);
        var locked = Assert.Single(otherTrail, e => Type(e) == "account_locked");
        Assert.Equal(pseudonym, Detail(locked, "by"));
        Assert.Equal("testing", Detail(locked, "reason"));
        Assert.Equal(JsonValueKind.Null, locked.GetProperty("ip").ValueKind);
        Assert.Empty((await EventsAsync(id)).Items);
    }

    [Fact]
    public async Task AFailedAuditWriteDoesNotFailTheRequest()
    {
        var (email, id) = await ActiveUserAsync();
        await App.Storage.Audit.DeleteAsync();
        try
        {
            var login = await App.PostAsync("/api/login", new { identifier = email, password = TestApp.Password });
            Assert.Equal(HttpStatusCode.OK, login.StatusCode);
        }
        finally
        {
            await App.Storage.Audit.CreateIfNotExistsAsync();
            // The days index went with the table; a new day is indexed afresh.
            App.Clock!.Advance(TimeSpan.FromDays(1));
        }
        await App.LoginAsync(email);
        Assert.Equal(["login_succeeded"], (await EventsAsync(id)).Items.Select(Type));
    }

    // --- helpers

    private string? _adminToken;
    private DateTimeOffset _adminTokenAt;

    /// <summary>An admin access token, renewed when the moved clock may have expired it.</summary>
    private async Task<string> AdminAsync()
    {
        if (_adminToken is null || App.Clock!.GetUtcNow() - _adminTokenAt > TimeSpan.FromMinutes(10))
        {
            _adminToken = Access(await App.LoginAsync(fixture.AdminEmail));
            _adminTokenAt = App.Clock!.GetUtcNow();
        }
        return _adminToken;
    }

    private static string Access(JsonElement session) => session.GetProperty("accessToken").GetString()!;
    private static string Type(JsonElement e) => e.GetProperty("type").GetString()!;

    private static string? Detail(JsonElement e, string key) =>
        e.GetProperty("detail") is { ValueKind: JsonValueKind.Object } d && d.TryGetProperty(key, out var v) ? v.GetString() : null;

    private async Task<(string Email, string Id)> PendingUserAsync()
    {
        var email = TestApp.NewEmail("audited");
        var mail = await App.SignupAsync(email);
        Assert.Equal(HttpStatusCode.OK, (await App.PostAsync("/api/email/verify", new { token = mail.Token })).StatusCode);
        return (email, await IdOfAsync(email));
    }

    private async Task<(string Email, string Id)> ActiveUserAsync()
    {
        var (email, id) = await PendingUserAsync();
        Assert.Equal(HttpStatusCode.OK, (await App.SendAsync(HttpMethod.Post, $"/api/manage/users/{id}/approve", bearer: await AdminAsync())).StatusCode);
        return (email, id);
    }

    private async Task<string> IdOfAsync(string email)
    {
        var found = await TestApp.Body(await App.GetAsync($"/api/manage/users?q={Uri.EscapeDataString(email)}", await AdminAsync()));
        return Assert.Single(found.GetProperty("items").EnumerateArray()).GetProperty("id").GetString()!;
    }

    private async Task<SentEmail> MagicLinkAsync(string email)
    {
        // By subject: an email of an earlier step (the approval notice) may still be on its way.
        var before = App.Mail.To(email).Count(m => m.Subject == "Your sign-in link");
        Assert.Equal(HttpStatusCode.Accepted, (await App.PostAsync("/api/login/email", new { email })).StatusCode);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (App.Mail.To(email).Count(m => m.Subject == "Your sign-in link") <= before)
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"No sign-in link reached {email}.");
            await Task.Delay(50);
        }
        return App.Mail.To(email).Where(m => m.Subject == "Your sign-in link").ElementAt(before);
    }

    private async Task WaitForSubjectAsync(string email, string subject)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (!App.Mail.To(email).Any(m => m.Subject == subject))
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"No \"{subject}\" email reached {email}.");
            await Task.Delay(50);
        }
    }

    /// <summary>One account's events (or everything, for null), newest first, and the raw body.</summary>
    private async Task<(List<JsonElement> Items, string Raw)> EventsAsync(string? accountId)
    {
        var response = await App.GetAsync($"/api/manage/audit?limit=200{(accountId is null ? "" : "&accountId=" + accountId)}", await AdminAsync());
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var raw = await response.Content.ReadAsStringAsync();
        return (JsonDocument.Parse(raw).RootElement.GetProperty("items").EnumerateArray().Select(e => e.Clone()).ToList(), raw);
    }

    private async Task<string> NewestAsync() => (await PageAsync("limit=1", null)).Items.Single().GetRawText();

    private async Task<(List<JsonElement> Items, string? Cursor)> PageAsync(string query, string? cursor)
    {
        var url = $"/api/manage/audit?{query}{(cursor is null ? "" : "&cursor=" + cursor)}";
        var response = await App.GetAsync(url, await AdminAsync());
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await TestApp.Body(response);
        var next = body.GetProperty("nextCursor");
        return (body.GetProperty("items").EnumerateArray().ToList(), next.ValueKind == JsonValueKind.Null ? null : next.GetString());
    }

    private async Task<List<JsonElement>> WalkAsync(string query)
    {
        var all = new List<JsonElement>();
        string? cursor = null;
        for (var pages = 0; pages < 100; pages++)
        {
            var (items, next) = await PageAsync(query, cursor);
            all.AddRange(items);
            if (next is null) return all;
            cursor = next;
        }
        throw new InvalidOperationException("The cursor never ended.");
    }

    /// <summary>Every table of this app's storage, listed by the service, not taken from the app's own list.</summary>
    private async Task<List<TableClient>> TablesAsync()
    {
        var service = new TableServiceClient((await Azurite.GetAsync()).ConnectionString);
        var prefix = App.Services.GetRequiredService<Core.StorageOptions>().Prefix.ToLowerInvariant();
        var tables = new List<TableClient>();
        await foreach (var t in service.QueryAsync())
            if (t.Name.StartsWith(prefix, StringComparison.Ordinal)) tables.Add(service.GetTableClient(t.Name));
        return tables;
    }
}
