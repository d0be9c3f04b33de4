using AccountFunctions.Core.Security;
using AccountFunctions.Core.Storage;
using Microsoft.Extensions.Logging;

namespace AccountFunctions.Core.Accounts;

public sealed record ImportRequest(string? Email, string? PasswordHash, string? FirstName, string? LastName);

/// <summary>
/// Moving users over from another system (admins only, beyond the contract): an active account
/// with a verified email and the old system's password hash (bcrypt, ASP.NET Core Identity V2/V3,
/// or Argon2id), which the next successful sign-in replaces with this system's hash.
/// The email's owner row is inserted first: the insert is the lock, so an address can be
/// imported once and never onto an address another account verified.
/// </summary>
public sealed class AccountImport(AccountsTable accounts, IdentifierIndex identifiers, TimeProvider time, ILogger<AccountImport> log)
{
    public async Task<Result<ManagedAccountView>> ImportAsync(ImportRequest request, CancellationToken ct = default)
    {
        var errors = new Dictionary<string, string[]>();
        if (string.IsNullOrWhiteSpace(request.Email)) errors["email"] = ["An email address is required."];
        else if (!EmailAddress.IsValid(request.Email)) errors["email"] = ["This is not a valid email address."];
        var hash = PasswordHasher.ImportFormat(request.PasswordHash);
        if (hash is null) errors["passwordHash"] = ["Use a bcrypt ($2a$/$2b$/$2y$), ASP.NET Core Identity (base64) or Argon2id (PHC) hash."];
        FieldRules.Check(errors, "firstName", request.FirstName, FieldRules.NameLength);
        FieldRules.Check(errors, "lastName", request.LastName, FieldRules.NameLength);
        if (errors.Count > 0) return Errors.Validation(errors);

        var now = time.GetUtcNow();
        var email = request.Email!.Trim();
        var account = Account.New(Account.NewId(), now);
        account.Email = email;
        account.EmailVerified = true;
        account.Status = AccountStatus.Active;
        account.Role = Roles.User;
        account.PasswordHash = hash;
        account.FirstName = string.IsNullOrWhiteSpace(request.FirstName) ? null : request.FirstName.Trim();
        account.LastName = string.IsNullOrWhiteSpace(request.LastName) ? null : request.LastName.Trim();

        if (!await identifiers.TryAddEmailOwnerAsync(EmailAddress.Hash(email), account.Id, now, ct)) return Errors.EmailTaken;
        await accounts.CreateAsync(account, ct);
        log.LogInformation("Account {AccountId} imported", account.Id);
        return ManagedAccountView.From(account);
    }
}
