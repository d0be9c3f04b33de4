using System.Security.Cryptography;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace AccountFunctions.Core.Security;

public sealed record AccessClaims(string AccountId, string SessionId, string Role);

/// <summary>
/// ES256 access tokens (RFC 9068 <c>at+jwt</c>) carrying <c>sub</c>, <c>sid</c> and <c>role</c>.
/// Validation pins the algorithm, issuer, audience and our own key (a token's <c>jku</c>/<c>jwk</c>
/// headers are never consulted), and checks lifetime against the app's clock. This app also
/// checks the session on each call (see SessionService); a third party holding only the JWKS
/// accepts a token until <c>exp</c>.
/// </summary>
public sealed class AccessTokens(TokenKeys keys, JwtOptions jwt, AccountsOptions accounts, TimeProvider time)
{
    private static readonly JsonWebTokenHandler Handler = new() { SetDefaultTimesOnTokenCreation = false };

    public string Issuer => jwt.Issuer is { Length: > 0 } i ? i : accounts.BaseUrl;
    public string Audience => jwt.Audience is { Length: > 0 } a ? a : accounts.BaseUrl;
    public TimeSpan Lifetime => jwt.AccessTokenLifetime;

    public async Task<string> IssueAsync(string accountId, string sessionId, string role)
    {
        var now = time.GetUtcNow().UtcDateTime;
        var key = await keys.SigningKeyAsync();
        return Handler.CreateToken(new SecurityTokenDescriptor
        {
            Issuer = Issuer,
            Audience = Audience,
            IssuedAt = now,
            NotBefore = now,
            Expires = now + Lifetime,
            TokenType = "at+jwt",
            Claims = new Dictionary<string, object>
            {
                ["sub"] = accountId,
                ["sid"] = sessionId,
                ["role"] = role,
                ["jti"] = Base64UrlEncoder.Encode(RandomNumberGenerator.GetBytes(16)),
            },
            SigningCredentials = new SigningCredentials(key, SecurityAlgorithms.EcdsaSha256),
        });
    }

    public async Task<AccessClaims?> ValidateAsync(string? token)
    {
        if (string.IsNullOrEmpty(token) || token.Length > 4096) return null;
        var validationKeys = await keys.ValidationKeysAsync();
        var result = await Handler.ValidateTokenAsync(token, new TokenValidationParameters
        {
            ValidIssuer = Issuer,
            ValidAudience = Audience,
            IssuerSigningKeys = validationKeys, // chosen by the token's kid
            ValidAlgorithms = [SecurityAlgorithms.EcdsaSha256],
            ValidTypes = ["at+jwt"],
            ValidateLifetime = false, // checked below against TimeProvider
            RequireExpirationTime = true,
            RequireSignedTokens = true,
            TryAllIssuerSigningKeys = false,
            IgnoreTrailingSlashWhenValidatingAudience = false, // the audience is compared exactly
        });
        if (!result.IsValid || result.SecurityToken is not JsonWebToken jwtToken) return null;
        var now = time.GetUtcNow().UtcDateTime;
        if (jwtToken.ValidTo == DateTime.MinValue || now > jwtToken.ValidTo + jwt.ClockSkew) return null;
        if (jwtToken.ValidFrom != DateTime.MinValue && now + jwt.ClockSkew < jwtToken.ValidFrom) return null;
        if (!jwtToken.TryGetPayloadValue<string>("sub", out var sub) || !jwtToken.TryGetPayloadValue<string>("sid", out var sid)
            || !jwtToken.TryGetPayloadValue<string>("role", out var role)) return null;
        return new AccessClaims(sub, sid, role);
    }

    /// <summary>The public keys, as a JWKS document.</summary>
    public async Task<object> JwksAsync()
    {
        return new
        {
            keys = (await keys.ValidationKeysAsync()).Select(key =>
            {
                var p = key.ECDsa.ExportParameters(false);
                return new
                {
                    kty = "EC",
                    crv = "P-256",
                    x = Base64UrlEncoder.Encode(p.Q.X),
                    y = Base64UrlEncoder.Encode(p.Q.Y),
                    kid = key.KeyId,
                    use = "sig",
                    alg = "ES256",
                };
            }).ToArray(),
        };
    }
}
