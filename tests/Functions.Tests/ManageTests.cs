using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using AccountFunctions.Core;
using AccountFunctions.Core.Security;
using AccountFunctions.Core.Storage;
using AccountFunctions.Functions.Tests.Support;
using Azure.Data.Tables;

namespace AccountFunctions.Functions.Tests;

/// <summary>Approval on, one bootstrap admin signed in once for the class.</summary>
public sealed class ManageFixture : AppFixture, IAsyncLifetime
{
    public string AdminEmail { get; } = TestApp.NewEmail("admin");
    public string AdminToken { get; private set; } = "";
    public string AdminId { get; private set; } = "";

    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Accounts:BootstrapAdmins"] = AdminEmail,
        ["Accounts:RequireAdminApproval"] = "true",
    };

    public new async Task InitializeAsync()
    {
        await base.InitializeAsync();
        await App.SignupVerifiedAsync(AdminEmail);
        var session = await App.LoginAsync(AdminEmail);
        AdminToken = session.GetProperty("accessToken").GetString()!;
        AdminId = session.GetProperty("account").GetProperty("id").GetString()!;
    }
}

/// <summary>A clock the tests move, so the sweep can lock an account for an unconfirmed email.</summary>
public sealed class ManageClockFixture : AppFixture
{
    public string AdminEmail { get; } = TestApp.NewEmail("admin");
    protected override bool FakeClock => true;
    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?> { ["Accounts:BootstrapAdmins"] = AdminEmail };
}

public sealed class ManageTests(ManageFixture fixture, ManageClockFixture clockFixture)
    : IClassFixture<ManageFixture>, IClassFixture<ManageClockFixture>
{
    private TestApp App => fixture.App;
    private string Admin => fixture.AdminToken;

    [Fact]
    public async Task ManageWithoutATokenIsUnauthorized()
    {
        var list = await App.GetAsync("/api/manage/users");
        var invite = await App.PostAsync("/api/manage/invites", new { });
        var bad = await App.GetAsync("/api/manage/users", "not.a.jwt");

        Assert.Equal(HttpStatusCode.Unauthorized, list.StatusCode);
        Assert.Equal("unauthorized", await TestApp.Code(list));
        Assert.Equal("unauthorized", await TestApp.Code(invite));
        Assert.Equal("unauthorized", await TestApp.Code(bad));
    }

    [Fact]
    public async Task ASignedInUserWhoIsNotAnAdminIsForbidden()
    {
        var (_, _, token) = await ApprovedAsync();

        var list = await App.GetAsync("/api/manage/users", token);
        var approve = await SendAsync(HttpMethod.Post, $"/api/manage/users/{fixture.AdminId}/lock", token);

        Assert.Equal(HttpStatusCode.Forbidden, list.StatusCode);
        Assert.Equal("forbidden", await TestApp.Code(list));
        Assert.Equal("forbidden", await TestApp.Code(approve));
    }

    [Fact]
    public async Task ApprovingAPendingAccountLetsItSignInAndEmailsTheUser()
    {
        var (email, id) = await PendingAsync("Ada");
        Assert.Equal("approval_pending", await TestApp.Code(await App.PostAsync("/api/login", new { identifier = email, password = TestApp.Password })));

        var approved = await SendAsync(HttpMethod.Post, $"/api/manage/users/{id}/approve", Admin); // no body at all

        Assert.Equal(HttpStatusCode.OK, approved.StatusCode);
        var account = await TestApp.Body(approved);
        Assert.Equal("active", account.GetProperty("status").GetString());
        Assert.Equal(id, account.GetProperty("id").GetString());
        var session = await App.LoginAsync(email);
        Assert.Equal("active", session.GetProperty("account").GetProperty("status").GetString());
        var mail = (await App.Mail.WaitForAsync(email, 2)).Single(m => m.Subject == "Your account has been approved");
        Assert.Contains("Hello Ada,", mail.Text);
    }

    [Fact]
    public async Task ApprovingTwiceIsAConflict()
    {
        var (_, id) = await PendingAsync();
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(HttpMethod.Post, $"/api/manage/users/{id}/approve", Admin, new { })).StatusCode);

        var again = await SendAsync(HttpMethod.Post, $"/api/manage/users/{id}/approve", Admin);

        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        Assert.Equal("invalid_state", await TestApp.Code(again));
    }

    [Fact]
    public async Task RejectingEmailsTheReasonAndLoginIsThenRefusedAsRejected()
    {
        var (email, id) = await PendingAsync();

        var rejected = await SendAsync(HttpMethod.Post, $"/api/manage/users/{id}/reject", Admin, new { reason = "We only admit staff <here>." });

        Assert.Equal(HttpStatusCode.OK, rejected.StatusCode);
        Assert.Equal("rejected", (await TestApp.Body(rejected)).GetProperty("status").GetString());
        var mail = (await App.Mail.WaitForAsync(email, 2)).Single(m => m.Subject == "Your account was not approved");
        Assert.Contains("Reason given:\r\n> We only admit staff <here>.", mail.Text.ReplaceLineEndings("\r\n"));
        Assert.Contains("We only admit staff &lt;here&gt;.", mail.Html);
        var login = await App.PostAsync("/api/login", new { identifier = email, password = TestApp.Password });
        Assert.Equal(HttpStatusCode.Forbidden, login.StatusCode);
        Assert.Equal("account_rejected", await TestApp.Code(login));
        Assert.Equal("invalid_state", await TestApp.Code(await SendAsync(HttpMethod.Post, $"/api/manage/users/{id}/approve", Admin)));
        Assert.Equal("invalid_state", await TestApp.Code(await SendAsync(HttpMethod.Post, $"/api/manage/users/{id}/reject", Admin)));
    }

    [Fact]
    public async Task RejectingAnApprovedAccountIsAConflictAndAnOverlongReasonIsInvalid()
    {
        var (_, id, _) = await ApprovedAsync();

        var reject = await SendAsync(HttpMethod.Post, $"/api/manage/users/{id}/reject", Admin, new { reason = "too late" });
        var (_, pending) = await PendingAsync();
        var overlong = await SendAsync(HttpMethod.Post, $"/api/manage/users/{pending}/reject", Admin, new { reason = new string('x', 501) });

        Assert.Equal(HttpStatusCode.Conflict, reject.StatusCode);
        Assert.Equal("invalid_state", await TestApp.Code(reject));
        Assert.Equal(HttpStatusCode.BadRequest, overlong.StatusCode);
        Assert.True((await TestApp.Body(overlong)).GetProperty("errors").TryGetProperty("reason", out _));
        Assert.Equal("pending_approval", (await GetUserAsync(pending)).GetProperty("status").GetString());
    }

    [Fact]
    public async Task LockingRefusesTheUsersTokensAtOnceAndUnlockingLetsThemBackIn()
    {
        var (email, id, token) = await ApprovedAsync();
        Assert.Equal(HttpStatusCode.OK, (await App.GetAsync("/api/me", token)).StatusCode);

        var locked = await SendAsync(HttpMethod.Post, $"/api/manage/users/{id}/lock", Admin, new { reason = "Suspicious activity" });

        Assert.Equal(HttpStatusCode.OK, locked.StatusCode);
        Assert.Equal("locked", (await TestApp.Body(locked)).GetProperty("status").GetString());
        Assert.Equal(HttpStatusCode.Unauthorized, (await App.GetAsync("/api/me", token)).StatusCode);
        var login = await App.PostAsync("/api/login", new { identifier = email, password = TestApp.Password });
        Assert.Equal(HttpStatusCode.Forbidden, login.StatusCode);
        Assert.Equal("account_locked", await TestApp.Code(login));
        var notice = (await App.Mail.WaitForAsync(email, 3)).Single(m => m.Subject == "Your account has been locked");
        Assert.Contains("Reason given:\r\n> Suspicious activity", notice.Text.ReplaceLineEndings("\r\n"));
        Assert.Equal("invalid_state", await TestApp.Code(await SendAsync(HttpMethod.Post, $"/api/manage/users/{id}/lock", Admin)));

        var unlocked = await SendAsync(HttpMethod.Post, $"/api/manage/users/{id}/unlock", Admin);

        Assert.Equal(HttpStatusCode.OK, unlocked.StatusCode);
        Assert.Equal("active", (await TestApp.Body(unlocked)).GetProperty("status").GetString());
        await App.LoginAsync(email);
        Assert.Single(await App.Mail.WaitForAsync(email, 4), m => m.Subject == "Your account has been unlocked");
        Assert.Equal("invalid_state", await TestApp.Code(await SendAsync(HttpMethod.Post, $"/api/manage/users/{id}/unlock", Admin)));
    }

    [Fact]
    public async Task UnlockingReturnsAnAccountToTheStatusTheLockFoundSoApprovalCannotBeSkipped()
    {
        var (email, id) = await PendingAsync();

        await SendAsync(HttpMethod.Post, $"/api/manage/users/{id}/lock", Admin);
        var unlocked = await SendAsync(HttpMethod.Post, $"/api/manage/users/{id}/unlock", Admin);

        Assert.Equal("pending_approval", (await TestApp.Body(unlocked)).GetProperty("status").GetString());
        Assert.Equal("approval_pending", await TestApp.Code(await App.PostAsync("/api/login", new { identifier = email, password = TestApp.Password })));
    }

    [Fact]
    public async Task ListingFiltersByStatusAndFindsByACaseInsensitivePrefixWithTheComment()
    {
        var tag = Guid.NewGuid().ToString("N")[..8];
        var (email, id) = await PendingAsync($"Zelda{tag}", $"Ström{tag}", "Please let me in: I run the night shift.");

        var byFirst = await ListAsync($"status=pending_approval&q=zELDA{tag}");
        var byLast = await ListAsync($"q=STRÖM{tag.ToUpperInvariant()}");
        var byEmail = await ListAsync($"q={Uri.EscapeDataString(email[..20].ToUpperInvariant())}");
        var wrongStatus = await ListAsync($"status=active&q=zelda{tag}");
        var badStatus = await App.GetAsync("/api/manage/users?status=sleeping", Admin);

        var item = Assert.Single(byFirst.GetProperty("items").EnumerateArray());
        Assert.Equal(id, item.GetProperty("id").GetString());
        Assert.Equal("Please let me in: I run the night shift.", item.GetProperty("comment").GetString());
        Assert.Equal($"Ström{tag}", item.GetProperty("lastName").GetString());
        Assert.Equal(JsonValueKind.Null, byFirst.GetProperty("nextCursor").ValueKind);
        Assert.Equal(id, Assert.Single(byLast.GetProperty("items").EnumerateArray()).GetProperty("id").GetString());
        Assert.Equal(id, Assert.Single(byEmail.GetProperty("items").EnumerateArray()).GetProperty("id").GetString());
        Assert.Empty(wrongStatus.GetProperty("items").EnumerateArray());
        Assert.Equal(HttpStatusCode.BadRequest, badStatus.StatusCode);
        Assert.Equal("validation_failed", await TestApp.Code(badStatus));
        var one = await TestApp.Body(await App.GetAsync($"/api/manage/users/{id}", Admin));
        Assert.Equal("Please let me in: I run the night shift.", one.GetProperty("comment").GetString());
        Assert.Equal(email, one.GetProperty("email").GetString());
    }

    [Fact]
    public async Task ACursorWalksEveryPageOnceAndAMalformedCursorIsInvalid()
    {
        var tag = "Pager" + Guid.NewGuid().ToString("N")[..8];
        var ids = new HashSet<string>();
        for (var i = 0; i < 3; i++) ids.Add((await PendingAsync(tag + i)).Id);

        var seen = new List<string>();
        string? cursor = null;
        var pages = 0;
        do
        {
            var page = await ListAsync($"q={tag}&limit=1" + (cursor is null ? "" : $"&cursor={cursor}"));
            var items = page.GetProperty("items").EnumerateArray().ToList();
            Assert.True(items.Count <= 1);
            seen.AddRange(items.Select(x => x.GetProperty("id").GetString()!));
            cursor = page.GetProperty("nextCursor").GetString();
            pages++;
        } while (cursor is not null && pages < 20);

        Assert.True(pages >= 3, $"walked {pages} page(s)");
        Assert.Equal(seen.Count, seen.Distinct().Count());
        Assert.True(ids.SetEquals(seen));
        foreach (var query in new[] { "cursor=%21%21not-base64", "cursor=YSBiIGMgZA", "limit=0", "limit=101", "limit=ten" })
        {
            var bad = await App.GetAsync($"/api/manage/users?{query}", Admin);
            Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
            Assert.Equal("validation_failed", await TestApp.Code(bad));
        }
    }

    [Fact]
    public async Task AMalformedIdIsInvalidAndAnUnknownOneIsNotFound()
    {
        var unknown = Account.NewId();
        foreach (var (method, suffix) in new[] { (HttpMethod.Get, ""), (HttpMethod.Patch, ""), (HttpMethod.Post, "/approve"), (HttpMethod.Post, "/lock"), (HttpMethod.Delete, "") })
        {
            var malformed = await SendAsync(method, $"/api/manage/users/NOT-AN-ID{suffix}", Admin, method == HttpMethod.Patch ? new { } : null);
            var missing = await SendAsync(method, $"/api/manage/users/{unknown}{suffix}", Admin, method == HttpMethod.Patch ? new { } : null);
            Assert.Equal(HttpStatusCode.BadRequest, malformed.StatusCode);
            Assert.Equal("validation_failed", await TestApp.Code(malformed));
            Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
            Assert.Equal("not_found", await TestApp.Code(missing));
        }
        Assert.Equal(HttpStatusCode.BadRequest, (await App.GetAsync($"/api/manage/users/{unknown.ToUpperInvariant()}", Admin)).StatusCode);
    }

    [Fact]
    public async Task PromotingAUserLetsTheirCurrentTokenManageAndDemotingStopsIt()
    {
        var (_, id, token) = await ApprovedAsync();
        Assert.Equal(HttpStatusCode.Forbidden, (await App.GetAsync("/api/manage/users?limit=1", token)).StatusCode);

        var promoted = await SendAsync(HttpMethod.Patch, $"/api/manage/users/{id}", Admin, new { role = "admin", firstName = "  Grace ", lastName = "Hopper" });

        Assert.Equal(HttpStatusCode.OK, promoted.StatusCode);
        var account = await TestApp.Body(promoted);
        Assert.Equal("admin", account.GetProperty("role").GetString());
        Assert.Equal("Grace", account.GetProperty("firstName").GetString());
        Assert.Equal(HttpStatusCode.OK, (await App.GetAsync("/api/manage/users?limit=1", token)).StatusCode);
        Assert.NotNull(await App.Storage.Identifiers.GetOrNullAsync<IdentifierRow>(IdentifierIndex.AdminsKey, id));

        var demoted = await SendAsync(HttpMethod.Patch, $"/api/manage/users/{id}", Admin, new { role = "user" });

        Assert.Equal("user", (await TestApp.Body(demoted)).GetProperty("role").GetString());
        Assert.Equal(HttpStatusCode.Forbidden, (await App.GetAsync("/api/manage/users?limit=1", token)).StatusCode);
        Assert.Null(await App.Storage.Identifiers.GetOrNullAsync<IdentifierRow>(IdentifierIndex.AdminsKey, id));
        var badRole = await SendAsync(HttpMethod.Patch, $"/api/manage/users/{id}", Admin, new { role = "root" });
        var longName = await SendAsync(HttpMethod.Patch, $"/api/manage/users/{id}", Admin, new { lastName = new string('a', 101) });
        Assert.True((await TestApp.Body(badRole)).GetProperty("errors").TryGetProperty("role", out _));
        Assert.True((await TestApp.Body(longName)).GetProperty("errors").TryGetProperty("lastName", out _));
    }

    [Fact]
    public async Task AnAdminCannotDemoteLockOrDeleteThemselves()
    {
        var self = fixture.AdminId;

        var demote = await SendAsync(HttpMethod.Patch, $"/api/manage/users/{self}", Admin, new { role = "user" });
        var lockSelf = await SendAsync(HttpMethod.Post, $"/api/manage/users/{self}/lock", Admin);
        var delete = await SendAsync(HttpMethod.Delete, $"/api/manage/users/{self}", Admin);

        foreach (var response in new[] { demote, lockSelf, delete })
        {
            Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
            Assert.Equal("invalid_state", await TestApp.Code(response));
        }
        var me = await GetUserAsync(self);
        Assert.Equal("admin", me.GetProperty("role").GetString());
        Assert.Equal("active", me.GetProperty("status").GetString());
    }

    [Fact]
    public async Task DeletingAnAccountRemovesEveryRowItOwned()
    {
        var (email, id, token) = await ApprovedAsync();
        var emailHash = EmailAddress.Hash(email);

        var deleted = await SendAsync(HttpMethod.Delete, $"/api/manage/users/{id}", Admin);

        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await App.GetAsync($"/api/manage/users/{id}", Admin)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await App.GetAsync("/api/me", token)).StatusCode);
        Assert.Equal("invalid_credentials", await TestApp.Code(await App.PostAsync("/api/login", new { identifier = email, password = TestApp.Password })));
        var left = new List<string>();
        await foreach (var row in App.Storage.Accounts.QueryAsync<TableEntity>(e => e.PartitionKey == id)) left.Add(row.RowKey);
        Assert.Empty(left);
        Assert.Null(await App.Storage.Identifiers.GetOrNullAsync<IdentifierRow>(IdentifierIndex.EmailOwnerKey(emailHash), IdentifierIndex.OwnerRow));
        Assert.Null(await App.Storage.Identifiers.GetOrNullAsync<IdentifierRow>(IdentifierIndex.EmailClaimKey(emailHash), id));
        Assert.Null(await App.Storage.Tokens.GetOrNullAsync<CodeRow>(TokensTable.CodesOf(TokenPurpose.Verify, emailHash), id));
        Assert.Equal(HttpStatusCode.NotFound, (await SendAsync(HttpMethod.Delete, $"/api/manage/users/{id}", Admin)).StatusCode);
        // The address is free again: a new signup can verify it.
        await App.SignupAsync(email);
    }

    [Fact]
    public async Task DeletingAnUnverifiedRivalLeavesTheAddressOwnersRowAlone()
    {
        var email = TestApp.NewEmail();
        var first = await App.SignupAsync(email);
        await App.SignupAsync(email); // a second, unverified claim on the same address
        Assert.Equal(HttpStatusCode.OK, (await App.PostAsync("/api/email/verify", new { token = first.Token })).StatusCode);
        var both = (await ListAsync($"q={Uri.EscapeDataString(email)}")).GetProperty("items").EnumerateArray().ToList();
        var owner = both.Single(a => a.GetProperty("emailVerified").GetBoolean()).GetProperty("id").GetString();
        var rival = both.Single(a => !a.GetProperty("emailVerified").GetBoolean()).GetProperty("id").GetString();

        Assert.Equal(HttpStatusCode.NoContent, (await SendAsync(HttpMethod.Delete, $"/api/manage/users/{rival}", Admin)).StatusCode);

        var row = await App.Storage.Identifiers.GetOrNullAsync<IdentifierRow>(IdentifierIndex.EmailOwnerKey(EmailAddress.Hash(email)), IdentifierIndex.OwnerRow);
        Assert.Equal(owner, row!.AccountId);
        await SendAsync(HttpMethod.Post, $"/api/manage/users/{owner}/approve", Admin);
        await App.LoginAsync(email);
    }

    [Fact]
    public async Task DeletingAnAccountNumberAccountFreesItsNumber()
    {
        var anonymous = await TestApp.Body(await App.PostAsync("/api/signup/anonymous", new { password = TestApp.Password }));
        var number = anonymous.GetProperty("accountNumber").GetString()!;
        var key = IdentifierIndex.NumberKey(AccountNumber.Hash(number));
        var id = (await App.Storage.Identifiers.GetOrNullAsync<IdentifierRow>(key, IdentifierIndex.OwnerRow))!.AccountId;

        Assert.Equal(HttpStatusCode.NoContent, (await SendAsync(HttpMethod.Delete, $"/api/manage/users/{id}", Admin)).StatusCode);

        Assert.Null(await App.Storage.Identifiers.GetOrNullAsync<IdentifierRow>(key, IdentifierIndex.OwnerRow));
        Assert.Equal("invalid_credentials", await TestApp.Code(await App.PostAsync("/api/login", new { identifier = number, password = TestApp.Password })));
    }

    [Fact]
    public async Task AnAdminCreatesInvitesWithOrWithoutAnAddress()
    {
        var email = TestApp.NewEmail("invitee");

        var open = await App.PostAsync("/api/manage/invites", new { }, Admin);
        var bound = await App.PostAsync("/api/manage/invites", new { email }, Admin);
        var empty = await SendAsync(HttpMethod.Post, "/api/manage/invites", Admin);
        var invalid = await App.PostAsync("/api/manage/invites", new { email = "not an address" }, Admin);

        Assert.Equal(HttpStatusCode.Created, open.StatusCode);
        var code = (await TestApp.Body(open)).GetProperty("code").GetString()!;
        Assert.Matches("^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$", code);
        Assert.True((await TestApp.Body(open)).GetProperty("expiresAt").GetDateTimeOffset() > DateTimeOffset.UtcNow.AddDays(6));
        Assert.Equal(HttpStatusCode.Created, bound.StatusCode);
        Assert.Equal(email, (await TestApp.Body(bound)).GetProperty("email").GetString());
        Assert.Equal(HttpStatusCode.Created, empty.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, invalid.StatusCode);
        Assert.Equal("validation_failed", await TestApp.Code(invalid));
    }

    [Fact]
    public async Task UnlockingAnAccountTheSweepLockedSendsANewLinkAndSetsANewDeadline()
    {
        var app = clockFixture.App;
        if (app.Mail.To(clockFixture.AdminEmail).Count == 0) await app.SignupVerifiedAsync(clockFixture.AdminEmail);
        var email = TestApp.NewEmail("late");
        var first = await app.SignupAsync(email);
        app.Clock!.Advance(TimeSpan.FromDays(3) + TimeSpan.FromSeconds(1));
        await app.SweepAsync();
        Assert.Equal("account_locked", await TestApp.Code(await app.PostAsync("/api/login", new { identifier = email, password = TestApp.Password })));
        var admin = (await app.LoginAsync(clockFixture.AdminEmail)).GetProperty("accessToken").GetString();
        var id = Assert.Single((await TestApp.Body(await app.GetAsync($"/api/manage/users?status=locked&q={Uri.EscapeDataString(email)}", admin)))
            .GetProperty("items").EnumerateArray()).GetProperty("id").GetString()!;

        using var request = new HttpRequestMessage(HttpMethod.Post, $"/api/manage/users/{id}/unlock");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", admin);
        var unlocked = await app.Http.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, unlocked.StatusCode);
        Assert.Equal("unverified", (await TestApp.Body(unlocked)).GetProperty("status").GetString());
        var account = await app.Storage.Accounts.GetOrNullAsync<Account>(id, Account.Row);
        Assert.Equal(app.Clock.GetUtcNow() + TimeSpan.FromDays(3), account!.ConfirmationDeadline);
        Assert.Null(account.LockReason);
        Assert.NotNull(await app.Storage.Due.GetOrNullAsync<DueRow>(DueRow.Partition(DueRow.Deadline, account.ConfirmationDeadline!.Value, id), id));
        var mails = await app.Mail.WaitForAsync(email, 3); // the first link, the lock notice, the new link
        var renewed = mails.Last(m => m.Subject == "Confirm your email address");
        Assert.NotEqual(first.Token, renewed.Token);
        Assert.NotNull(renewed.Code);
        Assert.Equal("invalid_token", await TestApp.Code(await app.PostAsync("/api/email/verify", new { token = first.Token })));
        var verified = await app.PostAsync("/api/email/verify", new { token = renewed.Token });
        Assert.Equal("active", (await TestApp.Body(verified)).GetProperty("status").GetString());
        await app.LoginAsync(email);
    }

    private async Task<(string Email, string Id)> PendingAsync(string? firstName = null, string? lastName = null, string? comment = null)
    {
        var email = TestApp.NewEmail();
        var signup = await App.PostAsync("/api/signup", new { email, password = TestApp.Password, firstName, lastName, comment });
        Assert.Equal(HttpStatusCode.Accepted, signup.StatusCode);
        var mail = (await App.Mail.WaitForAsync(email)).Single();
        var verified = await App.PostAsync("/api/email/verify", new { token = mail.Token });
        Assert.Equal("pending_approval", (await TestApp.Body(verified)).GetProperty("status").GetString());
        var found = await ListAsync($"q={Uri.EscapeDataString(email)}");
        return (email, Assert.Single(found.GetProperty("items").EnumerateArray()).GetProperty("id").GetString()!);
    }

    private async Task<(string Email, string Id, string Token)> ApprovedAsync()
    {
        var (email, id) = await PendingAsync();
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(HttpMethod.Post, $"/api/manage/users/{id}/approve", Admin)).StatusCode);
        var session = await App.LoginAsync(email);
        return (email, id, session.GetProperty("accessToken").GetString()!);
    }

    private async Task<JsonElement> ListAsync(string query)
    {
        var response = await App.GetAsync($"/api/manage/users?{query}", Admin);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await TestApp.Body(response);
    }

    private async Task<JsonElement> GetUserAsync(string id) => await TestApp.Body(await App.GetAsync($"/api/manage/users/{id}", Admin));

    private async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, string bearer, object? body = null)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null) request.Content = JsonContent.Create(body);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        return await App.Http.SendAsync(request);
    }
}
