using AccountFunctions.Core.Email;
using AccountFunctions.Core.Security;
using AccountFunctions.Core.Sessions;
using AccountFunctions.Core.Storage;
using Azure.Data.Tables;

namespace AccountFunctions.Core.Signup;

public sealed record SignupRequest(string? Email, string? Password, string? FirstName, string? LastName, string? Comment, string? InviteCode);

public static class Limits
{
    public const int NameLength = 100;
    public const int CommentLength = 1000;
}

/// <summary>
/// Signup: <c>unverified</c> account + claim on the address + verification link and code.
/// The answer is the same whether or not the address already belongs to someone (who is
/// emailed instead), and both paths hash the password, so timing tells nothing either.
/// </summary>
public sealed class SignupService(StorageContext storage, IdentifierIndex identifiers, PasswordHasher hasher,
    OneTimeTokens tokens, Outbox outbox, AccountsOptions options, TimeProvider time)
{
    public async Task<Result<string>> SignupAsync(SignupRequest request, ClientInfo client, CancellationToken ct = default)
    {
        var errors = new Dictionary<string, string[]>();
        if (string.IsNullOrWhiteSpace(request.Email)) errors["email"] = ["An email address is required."];
        else if (!EmailAddress.IsValid(request.Email)) errors["email"] = ["This is not a valid email address."];
        if (request.Password is null) errors["password"] = ["A password is required."];
        CheckLength(errors, "firstName", request.FirstName, Limits.NameLength);
        CheckLength(errors, "lastName", request.LastName, Limits.NameLength);
        CheckLength(errors, "comment", request.Comment, Limits.CommentLength);
        if (errors.Count > 0) return Errors.Validation(errors);
        if (PasswordPolicy.Check(request.Password, request.Email) is { } weak) return weak;

        var email = request.Email!.Trim();
        var emailHash = EmailAddress.Hash(email);
        var passwordHash = hasher.Hash(request.Password!);
        await storage.ReadyAsync();
        var now = time.GetUtcNow();

        var owner = await OwnerAsync(emailHash, ct);
        if (owner is not null)
        {
            var notice = outbox.Create(owner.Id, EmailTemplates.AlreadyRegistered, owner.Email!, FullName(owner),
                new Dictionary<string, string> { ["firstName"] = owner.FirstName ?? "" });
            await outbox.CommitAsync(notice, ct);
            return "verification_sent";
        }

        var account = Account.New(Account.NewId(), now);
        account.Email = email;
        account.PasswordHash = passwordHash;
        account.FirstName = Clean(request.FirstName);
        account.LastName = Clean(request.LastName);
        account.Comment = Clean(request.Comment);
        account.ConfirmationDeadline = now + options.EmailConfirmationDeadline;

        // Order: token, claim and deadline marker first (harmless if orphaned: they point at no
        // account), then the account and its email in one transaction, then the queue message.
        var grant = await tokens.IssueAsync(TokenPurpose.Verify, account.Id, emailHash, options.VerificationTokenLifetime, ct);
        account.VerificationGrant = grant.TokenId;
        await identifiers.AddClaimAsync(emailHash, account.Id, now, ct);
        var mail = outbox.Create(account.Id, EmailTemplates.VerifyEmail, email, FullName(account),
            new Dictionary<string, string> { ["firstName"] = account.FirstName ?? "" }, grant);
        await storage.Due.UpsertEntityAsync(DueRow.For(DueRow.Deadline, account.Id, account.ConfirmationDeadline.Value), TableUpdateMode.Replace, ct);
        await outbox.CommitAsync([mail], async () =>
        {
            await storage.Accounts.SubmitTransactionAsync([new TableTransactionAction(TableTransactionActionType.Add, account), Outbox.Add(mail)], ct);
            return true;
        }, ct);
        return "verification_sent";
    }

    /// <summary>The account that verified this address, if any (ignoring a stale index row).</summary>
    internal async Task<Account?> OwnerAsync(string emailHash, CancellationToken ct)
    {
        var row = await identifiers.GetEmailOwnerAsync(emailHash, ct);
        if (row is null) return null;
        var account = await storage.Accounts.GetOrNullAsync<Account>(row.AccountId, Account.Row, ct);
        return account is { EmailVerified: true, Email: not null } && EmailAddress.Hash(account.Email) == emailHash ? account : null;
    }

    internal static string? FullName(Account a) =>
        string.Join(' ', new[] { a.FirstName, a.LastName }.Where(s => !string.IsNullOrWhiteSpace(s))) is { Length: > 0 } n ? n : null;

    private static string? Clean(string? s) => string.IsNullOrWhiteSpace(s) ? null : s.Trim();

    internal static void CheckLength(Dictionary<string, string[]> errors, string field, string? value, int max)
    {
        if (value is null) return;
        if (value.Length > max) errors[field] = [$"Use at most {max} characters."];
        else if (value.Any(c => char.IsControl(c) && c is not '\n' and not '\r' and not '\t')) errors[field] = ["Control characters are not allowed."];
    }
}
