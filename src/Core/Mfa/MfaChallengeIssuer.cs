using System.Security.Cryptography;
using AccountFunctions.Core.Sessions;
using AccountFunctions.Core.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.Tokens;

namespace AccountFunctions.Core.Mfa;

/// <summary>
/// The mfaToken <c>{id}.{secret}</c> a first sign-in step gets when the account has MFA on:
/// 128-bit id, 256-bit random secret of which only SHA-256 is stored, <c>Mfa__TokenLifetime</c>,
/// remembering rememberMe and useCookie for the second step (<see cref="MfaChallenges"/>).
/// </summary>
public sealed class MfaChallengeIssuer(TokensTable tokenRows, MfaOptions options, TimeProvider time, ILogger<MfaChallengeIssuer> log)
    : IMfaChallengeIssuer
{
    public async Task<MfaChallenge> IssueAsync(string accountId, bool rememberMe, bool useCookie, CancellationToken ct)
    {
        var now = time.GetUtcNow();
        var id = Base64UrlEncoder.Encode(RandomNumberGenerator.GetBytes(16));
        var secret = RandomNumberGenerator.GetBytes(32);
        await tokenRows.AddMfaTokenAsync(new MfaTokenRow
        {
            TokenId = id,
            AccountId = accountId,
            SecretHash = Convert.ToBase64String(SHA256.HashData(secret)),
            RememberMe = rememberMe,
            UseCookie = useCookie,
            CreatedAt = now,
            ExpiresAt = now + options.TokenLifetime,
        }, ct);
        log.LogInformation("Account {AccountId} passed the first sign-in step; second factor required", accountId);
        return new MfaChallenge(true, id + "." + Base64UrlEncoder.Encode(secret));
    }
}
