using AccountFunctions.Core.Sweep;
using AccountFunctions.Core.Security;
using System.Net;
using System.Text.Json;
using AccountFunctions.Core;
using AccountFunctions.Core.Storage;
using AccountFunctions.Functions.Tests.Support;
using Azure.Data.Tables;

namespace AccountFunctions.Functions.Tests;

/// <summary>A clock the tests move (deadlines, revert links) and a bootstrap admin for unlocking.</summary>
public sealed class EmailChangeFixture : AppFixture
{
    public string AdminEmail { get; } = TestApp.NewEmail("admin");
    protected override bool FakeClock => true;
    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?> { ["Accounts:BootstrapAdmins"] = AdminEmail };
}

public sealed class EmailChangeTests(EmailChangeFixture fixture) : IClassFixture<EmailChangeFixture>
{
    private TestApp App => fixture.App;
    private const string ConfirmSubject = "Confirm your new email address";
    private const string NoticeSubject = "Your email address is being changed";
    private const string NewPassword = "a brand new passphrase for this";

    private sealed record SignedIn(string Email, string Id, string Access);

    private async Task<SignedIn> SignedInAsync(string tag = "old")
    {
        var email = await App.SignupVerifiedAsync(TestApp.NewEmail(tag));
        var session = await App.LoginAsync(email);
        return new SignedIn(email, session.GetProperty("account").GetProperty("id").GetString()!, session.GetProperty("accessToken").GetString()!);
    }

    private Task<HttpResponseMessage> ChangeAsync(string access, object body) => App.PostAsync("/api/me/email", body, access);

    private Task<HttpResponseMessage> ChangeAsync(SignedIn user, string newEmail) =>
        ChangeAsync(user.Access, new { currentPassword = TestApp.Password, newEmail });

    private async Task<SentEmail> MailAsync(string to, string subject, int nth = 1)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (DateTime.UtcNow < deadline)
        {
            var matching = App.Mail.To(to).Where(m => m.Subject == subject).ToList();
            if (matching.Count >= nth) return matching[nth - 1];
            await Task.Delay(50);
        }
        throw new TimeoutException($"No email \"{subject}\" (#{nth}) reached {to}.");
    }

    private async Task<Account> AccountAsync(string id) => (await App.Storage.Accounts.GetOrNullAsync<Account>(id, Account.Row))!;

    private async Task<JsonElement> MeAsync(string access)
    {
        var me = await App.GetAsync("/api/me", access);
        Assert.Equal(HttpStatusCode.OK, me.StatusCode);
        return await TestApp.Body(me);
    }

    private async Task<string?> LoginCodeAsync(string identifier, string password = TestApp.Password)
    {
        var response = await App.PostAsync("/api/login", new { identifier, password });
        return response.StatusCode == HttpStatusCode.OK ? "ok" : await TestApp.Code(response);
    }

    private Task<SweepResult> SweepAsync() => App.SweepAsync();

    private async Task<int> SessionCountAsync(string id)
    {
        var count = 0;
        await foreach (var _ in App.Storage.Accounts.QueryAsync<TableEntity>(
            e => e.PartitionKey == id && e.RowKey.CompareTo(SessionRow.Prefix) >= 0 && e.RowKey.CompareTo(SessionRow.Prefix + "~") < 0))
            count++;
        return count;
    }

    [Fact]
    public async Task AChangeIsConfirmedByTheLinkAndOnlyThenMovesSignInToTheNewAddress()
    {
        var user = await SignedInAsync();
        var newEmail = TestApp.NewEmail("new");

        var response = await ChangeAsync(user, newEmail);

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Equal("""{"status":"confirmation_sent"}""", await response.Content.ReadAsStringAsync());
        var confirm = await MailAsync(newEmail, ConfirmSubject);
        Assert.StartsWith("https://accounts.example.test/account/verify?token=", confirm.Link);
        Assert.NotNull(confirm.Code);
        var notice = await MailAsync(user.Email, NoticeSubject);
        Assert.StartsWith("https://accounts.example.test/account/revert-email?token=", notice.Link);
        Assert.Contains(newEmail, notice.Text);
        Assert.Null(notice.Code);
        var me = await MeAsync(user.Access);
        Assert.Equal(user.Email, me.GetProperty("email").GetString());
        Assert.Equal(newEmail, me.GetProperty("pendingEmail").GetString());
        var pending = await AccountAsync(user.Id);
        Assert.Equal(App.Clock!.GetUtcNow() + TimeSpan.FromDays(3), pending.ConfirmationDeadline);
        Assert.NotNull(await App.Storage.Due.GetOrNullAsync<DueRow>(DueRow.Partition(DueRow.Deadline, pending.ConfirmationDeadline!.Value, user.Id), user.Id));

        // Until confirmed, sign-in stays on the old address.
        Assert.Equal("ok", await LoginCodeAsync(user.Email));
        Assert.Equal("invalid_credentials", await LoginCodeAsync(newEmail));

        var verified = await App.PostAsync("/api/email/verify", new { token = confirm.Token });

        Assert.Equal(HttpStatusCode.OK, verified.StatusCode);
        Assert.Equal("active", (await TestApp.Body(verified)).GetProperty("status").GetString());
        Assert.Equal("ok", await LoginCodeAsync(newEmail));
        Assert.Equal("invalid_credentials", await LoginCodeAsync(user.Email));
        me = await MeAsync(user.Access);
        Assert.Equal(newEmail, me.GetProperty("email").GetString());
        Assert.True(me.GetProperty("emailVerified").GetBoolean());
        Assert.Equal(JsonValueKind.Null, me.GetProperty("pendingEmail").ValueKind);
        var done = await AccountAsync(user.Id);
        Assert.Null(done.ConfirmationDeadline);
        Assert.Null(await App.Storage.Due.GetOrNullAsync<DueRow>(DueRow.Partition(DueRow.Deadline, pending.ConfirmationDeadline.Value, user.Id), user.Id));
        // The old address is free again: its owner row is gone, the new one is this account's.
        var identifiers = App.Storage.Identifiers;
        Assert.Null(await identifiers.GetOrNullAsync<IdentifierRow>(IdentifierIndex.EmailOwnerKey(EmailAddress.Hash(user.Email)), IdentifierIndex.OwnerRow));
        Assert.Equal(user.Id, (await identifiers.GetOrNullAsync<IdentifierRow>(IdentifierIndex.EmailOwnerKey(EmailAddress.Hash(newEmail)), IdentifierIndex.OwnerRow))!.AccountId);
    }

    [Fact]
    public async Task AChangeCanBeConfirmedWithTheCodeAndTheLinkThenDies()
    {
        var user = await SignedInAsync();
        var newEmail = TestApp.NewEmail("new");
        Assert.Equal(HttpStatusCode.Accepted, (await ChangeAsync(user, newEmail)).StatusCode);
        var confirm = await MailAsync(newEmail, ConfirmSubject);

        var verified = await App.PostAsync("/api/email/verify", new { email = newEmail.ToUpperInvariant(), code = confirm.Code });

        Assert.Equal(HttpStatusCode.OK, verified.StatusCode);
        Assert.Equal("ok", await LoginCodeAsync(newEmail));
        Assert.Equal("invalid_token", await TestApp.Code(await App.PostAsync("/api/email/verify", new { token = confirm.Token })));
    }

    [Fact]
    public async Task AnAddressAnotherAccountVerifiedGetsTheSameAnswerANoticeToItsOwnerAndChangesNothing()
    {
        var owner = await App.SignupVerifiedAsync(TestApp.NewEmail("owner"));
        var user = await SignedInAsync();
        var other = await SignedInAsync();
        var free = TestApp.NewEmail("free");

        var taken = await ChangeAsync(user, owner);
        var fresh = await ChangeAsync(other, free);

        Assert.Equal(HttpStatusCode.Accepted, taken.StatusCode);
        Assert.Equal(fresh.StatusCode, taken.StatusCode);
        Assert.Equal(await fresh.Content.ReadAsStringAsync(), await taken.Content.ReadAsStringAsync());
        var heads = await MailAsync(owner, "Someone tried to move an account to your email address");
        Assert.Null(heads.Link);
        await App.EmailsSettledAsync();
        Assert.DoesNotContain(App.Mail.To(owner), m => m.Subject == ConfirmSubject);
        await MailAsync(free, ConfirmSubject); // the other request went through, so the mails above had time to arrive
        var me = await MeAsync(user.Access);
        Assert.Equal(user.Email, me.GetProperty("email").GetString());
        Assert.Equal(JsonValueKind.Null, me.GetProperty("pendingEmail").ValueKind);
        Assert.Null((await AccountAsync(user.Id)).ConfirmationDeadline);
        Assert.DoesNotContain(App.Mail.To(user.Email), m => m.Subject == NoticeSubject);
        Assert.Equal("ok", await LoginCodeAsync(owner));
    }

    [Fact]
    public async Task AWrongCurrentPasswordIsRefusedAndChangesNothing()
    {
        var user = await SignedInAsync();
        var newEmail = TestApp.NewEmail("new");

        var wrong = await ChangeAsync(user.Access, new { currentPassword = "not my passphrase at all", newEmail });

        Assert.Equal(HttpStatusCode.BadRequest, wrong.StatusCode);
        Assert.Equal("wrong_password", await TestApp.Code(wrong));
        Assert.Equal(JsonValueKind.Null, (await MeAsync(user.Access)).GetProperty("pendingEmail").ValueKind);
        Assert.Null((await AccountAsync(user.Id)).ConfirmationDeadline);
        await App.EmailsSettledAsync();
        Assert.Empty(App.Mail.To(newEmail));
    }

    [Fact]
    public async Task BadRequestsAreValidationProblemsAndNeedASignedInCaller()
    {
        var user = await SignedInAsync();

        var invalid = await ChangeAsync(user.Access, new { currentPassword = TestApp.Password, newEmail = "not an address" });
        var same = await ChangeAsync(user.Access, new { currentPassword = TestApp.Password, newEmail = "  " + user.Email.ToUpperInvariant() });
        var missing = await ChangeAsync(user.Access, new { currentPassword = TestApp.Password });
        var noPassword = await ChangeAsync(user.Access, new { newEmail = TestApp.NewEmail("new") });
        var anonymous = await App.PostAsync("/api/me/email", new { currentPassword = TestApp.Password, newEmail = TestApp.NewEmail("new") });

        foreach (var (response, field) in new[] { (invalid, "newEmail"), (same, "newEmail"), (missing, "newEmail"), (noPassword, "currentPassword") })
        {
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            var body = await TestApp.Body(response);
            Assert.Equal("validation_failed", body.GetProperty("code").GetString());
            Assert.True(body.GetProperty("errors").TryGetProperty(field, out _), $"errors names {field}");
        }
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        Assert.Null((await AccountAsync(user.Id)).PendingEmail);
    }

    [Fact]
    public async Task APasswordlessAccountProvesItsMailboxWithACodeSentToTheCurrentAddress()
    {
        var email = TestApp.NewEmail("nopass");
        Assert.Equal(HttpStatusCode.Accepted, (await App.PostAsync("/api/signup/email", new { email })).StatusCode);
        var signup = (await App.Mail.WaitForAsync(email)).Single();
        var access = (await TestApp.Body(await App.PostAsync("/api/email/verify", new { token = signup.Token })))
            .GetProperty("session").GetProperty("accessToken").GetString()!;
        var newEmail = TestApp.NewEmail("new");

        var first = await ChangeAsync(access, new { newEmail });

        Assert.Equal(HttpStatusCode.Accepted, first.StatusCode);
        Assert.Equal("""{"status":"code_sent"}""", await first.Content.ReadAsStringAsync());
        var codeMail = await MailAsync(email, "Your code to change your email address");
        Assert.Null(codeMail.Link);
        Assert.Contains(newEmail, codeMail.Text);
        var code = codeMail.Code!;
        Assert.Equal(JsonValueKind.Null, (await MeAsync(access)).GetProperty("pendingEmail").ValueKind);
        var wrongCode = code == "000000" ? "111111" : "000000";
        Assert.Equal("invalid_token", await TestApp.Code(await ChangeAsync(access, new { newEmail, code = wrongCode })));
        Assert.Equal("invalid_token", await TestApp.Code(await ChangeAsync(access, new { newEmail = TestApp.NewEmail("elsewhere"), code })));

        var second = await ChangeAsync(access, new { newEmail, code });

        Assert.Equal(HttpStatusCode.Accepted, second.StatusCode);
        Assert.Equal("""{"status":"confirmation_sent"}""", await second.Content.ReadAsStringAsync());
        Assert.Equal(newEmail, (await MeAsync(access)).GetProperty("pendingEmail").GetString());
        await MailAsync(email, NoticeSubject);
        var confirm = await MailAsync(newEmail, ConfirmSubject);
        Assert.Equal("invalid_token", await TestApp.Code(await ChangeAsync(access, new { newEmail, code })));
        Assert.Equal(HttpStatusCode.OK, (await App.PostAsync("/api/email/verify", new { token = confirm.Token })).StatusCode);
        Assert.Equal(newEmail, (await MeAsync(access)).GetProperty("email").GetString());
    }

    [Fact]
    public async Task TheRevertLinkRestoresTheOldAddressEndsEverySessionAndRequiresAPasswordReset()
    {
        var user = await SignedInAsync();
        var newEmail = TestApp.NewEmail("new");
        Assert.Equal(HttpStatusCode.Accepted, (await ChangeAsync(user, newEmail)).StatusCode);
        var notice = await MailAsync(user.Email, NoticeSubject);
        Assert.Equal(HttpStatusCode.OK, (await App.PostAsync("/api/email/verify", new { token = (await MailAsync(newEmail, ConfirmSubject)).Token })).StatusCode);
        var other = (await App.LoginAsync(newEmail)).GetProperty("accessToken").GetString()!;

        var reverted = await App.PostAsync("/api/email/revert", new { token = notice.Token });

        Assert.Equal(HttpStatusCode.OK, reverted.StatusCode);
        Assert.Equal("""{"status":"email_restored"}""", await reverted.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.Unauthorized, (await App.GetAsync("/api/me", user.Access)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await App.GetAsync("/api/me", other)).StatusCode);
        Assert.Equal("invalid_credentials", await LoginCodeAsync(user.Email));
        Assert.Equal("invalid_credentials", await LoginCodeAsync(newEmail));
        var account = await AccountAsync(user.Id);
        Assert.Equal(user.Email, account.Email);
        Assert.True(account.EmailVerified);
        Assert.Null(account.PendingEmail);
        Assert.Null(account.PasswordHash);
        Assert.Null(await App.Storage.Identifiers.GetOrNullAsync<IdentifierRow>(IdentifierIndex.EmailOwnerKey(EmailAddress.Hash(newEmail)), IdentifierIndex.OwnerRow));

        var restored = await MailAsync(user.Email, "Your email address was restored");
        Assert.StartsWith("https://accounts.example.test/account/reset-password?token=", restored.Link);
        Assert.Equal(HttpStatusCode.NoContent, (await App.PostAsync("/api/password/reset", new { token = restored.Token, newPassword = NewPassword })).StatusCode);
        Assert.Equal("ok", await LoginCodeAsync(user.Email, NewPassword));
        Assert.Equal("invalid_credentials", await LoginCodeAsync(newEmail, NewPassword));
    }

    [Fact]
    public async Task RevertingAnUnconfirmedChangeDropsItAndKillsItsConfirmationLink()
    {
        var user = await SignedInAsync();
        var newEmail = TestApp.NewEmail("new");
        Assert.Equal(HttpStatusCode.Accepted, (await ChangeAsync(user, newEmail)).StatusCode);
        var notice = await MailAsync(user.Email, NoticeSubject);
        var confirm = await MailAsync(newEmail, ConfirmSubject);
        var deadline = (await AccountAsync(user.Id)).ConfirmationDeadline!.Value;

        Assert.Equal(HttpStatusCode.OK, (await App.PostAsync("/api/email/revert", new { token = notice.Token })).StatusCode);

        Assert.Equal("invalid_token", await TestApp.Code(await App.PostAsync("/api/email/verify", new { token = confirm.Token })));
        var account = await AccountAsync(user.Id);
        Assert.Null(account.PendingEmail);
        Assert.Null(account.ConfirmationDeadline);
        Assert.Null(await App.Storage.Due.GetOrNullAsync<DueRow>(DueRow.Partition(DueRow.Deadline, deadline, user.Id), user.Id));
        Assert.Equal(HttpStatusCode.Unauthorized, (await App.GetAsync("/api/me", user.Access)).StatusCode);
    }

    [Fact]
    public async Task TheRevertLinkWorksOnceAndForSevenDaysNotASecondLonger()
    {
        var early = await SignedInAsync();
        var late = await SignedInAsync();
        Assert.Equal(HttpStatusCode.Accepted, (await ChangeAsync(early, TestApp.NewEmail("new"))).StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, (await ChangeAsync(late, TestApp.NewEmail("new"))).StatusCode);
        var earlyLink = (await MailAsync(early.Email, NoticeSubject)).Token;
        var lateLink = (await MailAsync(late.Email, NoticeSubject)).Token;

        App.Clock!.Advance(TimeSpan.FromDays(7) - TimeSpan.FromSeconds(1));
        var first = await App.PostAsync("/api/email/revert", new { token = earlyLink });
        var again = await App.PostAsync("/api/email/revert", new { token = earlyLink });
        App.Clock.Advance(TimeSpan.FromSeconds(2));
        var expired = await App.PostAsync("/api/email/revert", new { token = lateLink });

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, again.StatusCode);
        Assert.Equal("invalid_token", await TestApp.Code(again));
        Assert.Equal(HttpStatusCode.BadRequest, expired.StatusCode);
        Assert.Equal("invalid_token", await TestApp.Code(expired));
        Assert.Equal("ok", await LoginCodeAsync(late.Email)); // nothing happened to it
    }

    [Fact]
    public async Task RevertingWhenTheOldAddressWasVerifiedElsewhereMeanwhileLocksTheAccountInstead()
    {
        var user = await SignedInAsync();
        var newEmail = TestApp.NewEmail("new");
        Assert.Equal(HttpStatusCode.Accepted, (await ChangeAsync(user, newEmail)).StatusCode);
        var notice = await MailAsync(user.Email, NoticeSubject);
        Assert.Equal(HttpStatusCode.OK, (await App.PostAsync("/api/email/verify", new { token = (await MailAsync(newEmail, ConfirmSubject)).Token })).StatusCode);
        await App.SignupVerifiedAsync(user.Email); // the released address, verified by a new account

        var reverted = await App.PostAsync("/api/email/revert", new { token = notice.Token });

        Assert.Equal(HttpStatusCode.OK, reverted.StatusCode);
        Assert.Equal("""{"status":"account_locked"}""", await reverted.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.Unauthorized, (await App.GetAsync("/api/me", user.Access)).StatusCode);
        var account = await AccountAsync(user.Id);
        Assert.Equal("locked", account.Status);
        Assert.Null(account.PasswordHash);
        Assert.Equal("invalid_credentials", await LoginCodeAsync(newEmail)); // the address it moved to no longer leads to it
        Assert.Equal("ok", await LoginCodeAsync(user.Email)); // the new owner of the address is untouched
        await MailAsync(user.Email, "Your account has been locked");
    }

    [Fact]
    public async Task AnUnconfirmedChangeLocksTheAccountAtItsDeadlineAndTellsTheOldAddressOnlyAnAdminCanUnlock()
    {
        var user = await SignedInAsync();
        var newEmail = TestApp.NewEmail("new");
        Assert.Equal(HttpStatusCode.Accepted, (await ChangeAsync(user, newEmail)).StatusCode);
        await MailAsync(user.Email, NoticeSubject);
        await MailAsync(newEmail, ConfirmSubject);
        await App.LoginAsync(user.Email, rememberMe: true);
        Assert.Equal(2, await SessionCountAsync(user.Id));

        App.Clock!.Advance(TimeSpan.FromDays(3) - TimeSpan.FromSeconds(1));
        await SweepAsync();
        Assert.Equal(AccountStatus.Active, (await AccountAsync(user.Id)).Status);
        App.Clock.Advance(TimeSpan.FromSeconds(2));
        var sweep = await SweepAsync();

        Assert.True(sweep.Locked >= 1);
        var account = await AccountAsync(user.Id);
        Assert.Equal(AccountStatus.Locked, account.Status);
        Assert.Equal("email_change_unconfirmed", account.LockReason);
        Assert.Equal(newEmail, account.PendingEmail);
        Assert.Equal(0, await SessionCountAsync(user.Id));
        Assert.Equal("account_locked", await LoginCodeAsync(user.Email));
        var locked = await MailAsync(user.Email, "Your account has been locked");
        Assert.Contains("Only an administrator can unlock it", locked.Text);
        await App.EmailsSettledAsync();
        Assert.DoesNotContain(App.Mail.To(newEmail), m => m.Subject == "Your account has been locked");
    }

    [Fact]
    public async Task UnlockingAnAccountLockedForAnUnconfirmedChangeSendsANewLinkToThePendingAddressWithANewDeadline()
    {
        var user = await SignedInAsync();
        var newEmail = TestApp.NewEmail("new");
        Assert.Equal(HttpStatusCode.Accepted, (await ChangeAsync(user, newEmail)).StatusCode);
        var first = await MailAsync(newEmail, ConfirmSubject);
        await MailAsync(user.Email, NoticeSubject);
        App.Clock!.Advance(TimeSpan.FromDays(3) + TimeSpan.FromSeconds(1));
        await SweepAsync();
        Assert.Equal("account_locked", await LoginCodeAsync(user.Email));
        if (App.Mail.To(fixture.AdminEmail).Count == 0) await App.SignupVerifiedAsync(fixture.AdminEmail);
        var admin = (await App.LoginAsync(fixture.AdminEmail)).GetProperty("accessToken").GetString()!;

        var unlocked = await App.SendAsync(HttpMethod.Post, $"/api/manage/users/{user.Id}/unlock", bearer: admin);

        Assert.Equal(HttpStatusCode.OK, unlocked.StatusCode);
        var view = await TestApp.Body(unlocked);
        Assert.Equal("active", view.GetProperty("status").GetString());
        Assert.Equal(newEmail, view.GetProperty("pendingEmail").GetString());
        var account = await AccountAsync(user.Id);
        Assert.Equal(App.Clock.GetUtcNow() + TimeSpan.FromDays(3), account.ConfirmationDeadline);
        Assert.NotNull(await App.Storage.Due.GetOrNullAsync<DueRow>(DueRow.Partition(DueRow.Deadline, account.ConfirmationDeadline!.Value, user.Id), user.Id));
        var renewed = await MailAsync(newEmail, ConfirmSubject, nth: 2);
        Assert.NotEqual(first.Token, renewed.Token);
        Assert.Equal("invalid_token", await TestApp.Code(await App.PostAsync("/api/email/verify", new { token = first.Token })));
        Assert.Equal("ok", await LoginCodeAsync(user.Email)); // unlocked, still on the old address
        Assert.Equal(HttpStatusCode.OK, (await App.PostAsync("/api/email/verify", new { token = renewed.Token })).StatusCode);
        Assert.Equal("ok", await LoginCodeAsync(newEmail));
    }

    [Fact]
    public async Task TwoAccountsConfirmingTheSameNewAddressAtOnceHaveExactlyOneWinner()
    {
        var a = await SignedInAsync();
        var b = await SignedInAsync();
        var contested = TestApp.NewEmail("contested");
        Assert.Equal(HttpStatusCode.Accepted, (await ChangeAsync(a, contested)).StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, (await ChangeAsync(b, contested)).StatusCode);
        var first = await MailAsync(contested, ConfirmSubject, 1);
        var second = await MailAsync(contested, ConfirmSubject, 2);

        var results = await Task.WhenAll(
            App.PostAsync("/api/email/verify", new { token = first.Token }),
            App.PostAsync("/api/email/verify", new { token = second.Token }));

        Assert.Equal(1, results.Count(r => r.StatusCode == HttpStatusCode.OK));
        var loser = Assert.Single(results, r => r.StatusCode != HttpStatusCode.OK);
        Assert.Equal(HttpStatusCode.Conflict, loser.StatusCode);
        Assert.Equal("email_taken", await TestApp.Code(loser));
        var accounts = new[] { await AccountAsync(a.Id), await AccountAsync(b.Id) };
        var winner = Assert.Single(accounts, x => x.Email == contested);
        var lost = Assert.Single(accounts, x => x.Email != contested);
        Assert.True(lost.EmailVerified);
        Assert.Null(lost.PendingEmail);
        Assert.Null(lost.ConfirmationDeadline); // nothing left to confirm: the sweep will not lock it
        Assert.Equal(winner.Id, (await App.Storage.Identifiers.GetOrNullAsync<IdentifierRow>(
            IdentifierIndex.EmailOwnerKey(EmailAddress.Hash(contested)), IdentifierIndex.OwnerRow))!.AccountId);
        Assert.Equal("ok", await LoginCodeAsync(lost.Email!));
        // The loser's code row (keyed by its id) went with its claim: nothing of it is left to find.
        Assert.Null(await App.Storage.Tokens.GetOrNullAsync<CodeRow>(
            TokensTable.CodesOf(TokenPurpose.Verify, EmailAddress.Hash(contested)), lost.Id));
    }
}
