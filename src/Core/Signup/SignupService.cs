using AccountFunctions.Core.Audit;
using AccountFunctions.Core.Email;
using AccountFunctions.Core.Security;
using AccountFunctions.Core.Sessions;
using AccountFunctions.Core.Storage;
using Azure.Data.Tables;

namespace AccountFunctions.Core.Signup;

public sealed record SignupRequest(string? Email, string? Password, string? FirstName, string? LastName, string? Comment, string? InviteCode);
public sealed record PasswordlessSignupRequest(string? Email, string? FirstName, string? LastName, string? Comment, string? InviteCode);
public sealed record AnonymousSignupRequest(string? Password, string? InviteCode);
public sealed record AnonymousSignupResult(string AccountNumber, string Status,
    [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)] SessionView? Session);

/// <summary>
/// Signup: <c>unverified</c> account + claim on the address + verification link and code.
/// The answer is the same whether or not the address already belongs to someone (who is
/// emailed instead), and both paths do the same hashing, so timing tells nothing either.
/// In invite-only mode the invite is checked first and consumed (a marker insert) before
/// anything is written, on both paths: one code, one signup.
/// </summary>
public sealed class SignupService(AccountsTable accounts, DueTable due, IdentifierIndex identifiers, PasswordHasher hasher,
    OneTimeTokens tokens, Outbox outbox, InviteService invites, EmailOwners owners, AdminNotices adminNotices, SignInCompletion completion, AccountsOptions options, AuditLog audit, TimeProvider time)
{
    public const string VerificationSent = "verification_sent";

    public async Task<Result<string>> SignupAsync(SignupRequest request, ClientInfo client, CancellationToken ct = default)
    {
        var errors = Validate(request.Email, request.FirstName, request.LastName, request.Comment);
        if (request.Password is null) errors["password"] = ["A password is required."];
        if (errors.Count > 0) return Errors.Validation(errors);
        if (PasswordPolicy.Check(request.Password, request.Email) is { } weak) return weak;
        var passwordHash = hasher.Hash(request.Password!);
        return await CreateAsync(request.Email!, passwordHash, request.FirstName, request.LastName, request.Comment, request.InviteCode, client, ct);
    }

    /// <summary>Signup without a password: the verification link or code signs the person in.</summary>
    public async Task<Result<string>> SignupPasswordlessAsync(PasswordlessSignupRequest request, ClientInfo client, CancellationToken ct = default)
    {
        var errors = Validate(request.Email, request.FirstName, request.LastName, request.Comment);
        if (errors.Count > 0) return Errors.Validation(errors);
        return await CreateAsync(request.Email!, null, request.FirstName, request.LastName, request.Comment, request.InviteCode, client, ct);
    }

    /// <summary>An account without email: a 16-digit account number, shown once, plus the password.</summary>
    public async Task<Result<AnonymousSignupResult>> SignupAnonymousAsync(AnonymousSignupRequest request, ClientInfo client, CancellationToken ct = default)
    {
        if (request.Password is null) return Errors.Validation("password", "A password is required.");
        if (PasswordPolicy.Check(request.Password, null) is { } weak) return weak;
        if (await UseInviteAsync(request.InviteCode, null, ct) is { } refused) return refused;
        var passwordHash = hasher.Hash(request.Password);
        var now = time.GetUtcNow();
        var account = Account.New(Account.NewId(), now);
        account.PasswordHash = passwordHash;
        account.EmailVerified = false;
        account.Status = options.RequireAdminApproval ? AccountStatus.PendingApproval : AccountStatus.Active;
        account.AccountNumber = await identifiers.AddNewNumberAsync(account.Id, now, ct);
        // An active account is created signed in: the account and its session in one transaction.
        SessionView? session = null;
        if (account.StatusError() is null)
        {
            var signedIn = await completion.CompleteAsync(new SignInStep(account.Id, SignInMethod.Signup, false, false)
            {
                Account = account,
                Create = true,
            }, client, ct);
            session = signedIn.Value?.Session;
        }
        else await accounts.CommitAsync(AccountChange.Create(account), ct);
        await audit.RecordAsync(AuditEvent.Signup, account.Id, client.IpAddress, AuditLog.Detail(("method", "account_number"), ("status", account.Status)));
        if (account.Status == AccountStatus.PendingApproval) await adminNotices.RequestApprovalAsync(account, ct);
        return new AnonymousSignupResult(account.AccountNumber, account.Status, session);
    }

    private async Task<Result<string>> CreateAsync(string rawEmail, string? passwordHash, string? firstName, string? lastName,
        string? comment, string? inviteCode, ClientInfo client, CancellationToken ct)
    {
        var email = rawEmail.Trim();
        var emailHash = EmailAddress.Hash(email);
        // The addresses of Accounts__BootstrapAdmins need no invite: in invite-only mode only admins
        // make invites, so the first admin could otherwise never join. They still have to verify.
        if (!options.IsBootstrapAdmin(EmailAddress.Normalize(email))
            && await UseInviteAsync(inviteCode, emailHash, ct) is { } refused) return refused;
        var now = time.GetUtcNow();

        var owner = await owners.OwnerAsync(emailHash, ct);
        if (owner is not null)
        {
            var notice = outbox.Create(owner.Id, EmailTemplates.AlreadyRegistered, owner.Email!, owner.FullName,
                new Dictionary<string, string> { ["firstName"] = owner.FirstName ?? "" });
            await outbox.CommitAsync(notice, ct);
            return VerificationSent;
        }

        var account = Account.New(Account.NewId(), now);
        account.Email = email;
        account.PasswordHash = passwordHash;
        account.FirstName = Clean(firstName);
        account.LastName = Clean(lastName);
        account.Comment = Clean(comment);
        account.ConfirmationDeadline = now + options.EmailConfirmationDeadline;

        // Order: token, claim and deadline marker first (harmless if orphaned: they point at no
        // account), then the account and its email in one transaction, then the queue message.
        var grant = await tokens.IssueAsync(TokenPurpose.Verify, account.Id, emailHash, options.VerificationTokenLifetime, ct);
        account.VerificationGrant = grant.TokenId;
        await identifiers.AddClaimAsync(emailHash, account.Id, now, ct);
        var mail = outbox.Create(account.Id, EmailTemplates.VerifyEmail, email, account.FullName,
            new Dictionary<string, string> { ["firstName"] = account.FirstName ?? "" }, grant);
        await due.SetAsync(DueRow.For(DueRow.Deadline, account.Id, account.ConfirmationDeadline.Value), ct);
        var created = AccountChange.Create(account).Send(mail);
        await outbox.CommitAsync(created.Mails, async () =>
        {
            await accounts.CommitAsync(created, ct);
            return true;
        }, ct);
        await audit.RecordAsync(AuditEvent.Signup, account.Id, client.IpAddress, AuditLog.Detail(("method", passwordHash is null ? "email" : "password")));
        return VerificationSent;
    }

    /// <summary>In invite-only mode: null when a valid invite was consumed, else why not.</summary>
    private async Task<Error?> UseInviteAsync(string? code, string? emailHash, CancellationToken ct)
    {
        if (!options.InviteOnly) return null;
        var invite = await invites.CheckAsync(code, emailHash, ct);
        if (!invite.Ok) return invite.Error;
        return await invites.ConsumeAsync(invite.Value!, ct) ? null : Errors.InviteInvalid;
    }

    private static Dictionary<string, string[]> Validate(string? email, string? firstName, string? lastName, string? comment)
    {
        var errors = new Dictionary<string, string[]>();
        if (string.IsNullOrWhiteSpace(email)) errors["email"] = ["An email address is required."];
        else if (!EmailAddress.IsValid(email)) errors["email"] = ["This is not a valid email address."];
        FieldRules.Check(errors, "firstName", firstName, FieldRules.NameLength);
        FieldRules.Check(errors, "lastName", lastName, FieldRules.NameLength);
        FieldRules.Check(errors, "comment", comment, FieldRules.CommentLength, multiline: true);
        return errors;
    }

    private static string? Clean(string? s) => string.IsNullOrWhiteSpace(s) ? null : s.Trim();
}
