using AccountFunctions.Core.Audit;
using AccountFunctions.Core.Email;
using AccountFunctions.Core.Security;
using AccountFunctions.Core.Sessions;
using AccountFunctions.Core.Storage;
using Microsoft.Extensions.Logging;

namespace AccountFunctions.Core.Login;

public sealed record MagicRedeemRequest(string? Token, string? Email, string? Code, bool? RememberMe = null, bool? UseCookie = null);

/// <summary>
/// Sign-in by email: one mail with a link and a 6-digit code, valid for MagicLinkLifetime, single
/// use, 5 wrong codes kill the code, a newer request supersedes the older one. Requesting answers
/// the same whether or not the address has an account. Only the verified owner of an address
/// gets a link, so redeeming it proves the same thing verification did.
/// </summary>
public sealed class MagicLinkService(EmailOwners owners, OneTimeTokens tokens, GrantMail grants,
    RateLimiter limiter, SignInCompletion completion, AccountsOptions options, SecurityOptions security)
{
    private static readonly GrantKind MagicGrant =
        new(TokenPurpose.Magic, EmailTemplates.MagicLink, AuditEvent.MagicLinkSent, (account, id) => account.MagicGrant = id);

    public async Task<Result<string>> RequestAsync(string? email, ClientInfo client, CancellationToken ct = default)
    {
        if (string.IsNullOrWhiteSpace(email)) return Errors.Validation("email", "An email address is required.");
        if (!EmailAddress.IsValid(email)) return Errors.Validation("email", "This is not a valid email address.");
        var subject = EmailAddress.Hash(email);
        var decision = await limiter.HitAsync("magic", subject, security.ResendLimit, security.ResendWindow, ct);
        if (!decision.Allowed) return "accepted";
        var account = await owners.OwnerAsync(subject, ct);
        if (account is null) return "accepted";

        await grants.SendAsync(account, subject, MagicGrant, options.MagicLinkLifetime, client.IpAddress, ct);
        return "accepted";
    }

    public async Task<Result<SignIn>> RedeemAsync(MagicRedeemRequest request, ClientInfo client, CancellationToken ct = default)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var redeemed = await tokens.RedeemAsync(TokenPurpose.Magic, request.Token, request.Email, request.Code, ct);
        if (!redeemed.Ok)
        {
            // {email, code}: a wrong code for an address with a live code counts a try (a write);
            // for any other address nothing is found. The same floor as requesting one holds both
            // answers, so the time does not tell which addresses have an account (issue 18).
            if (request.Token is null) await EnumerationFloor.HoldAsync(security.EnumerationFloor, started, ct);
            return redeemed.Error!;
        }
        var (accountId, grant, _) = redeemed.Value!;

        // The grant is cleared with the ETag (the link and the code of one email die together, also
        // when the session comes from the second step), so a racing write of the account makes this
        // retry with back-off, never fail.
        return await completion.CompleteAsync(new SignInStep(accountId, SignInMethod.Email, request.RememberMe == true, request.UseCookie == true)
        {
            // Superseded by a newer request, or already used through the other half of the pair.
            Check = account => account is null || account.MagicGrant != grant || !account.EmailVerified ? Errors.InvalidToken : null,
            Change = account =>
            {
                account.MagicGrant = null;
                return true;
            },
        }, client, ct);
    }
}
