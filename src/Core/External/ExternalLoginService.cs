using AccountFunctions.Core.Audit;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using AccountFunctions.Core.Security;
using AccountFunctions.Core.Sessions;
using AccountFunctions.Core.Storage;
using Azure.Data.Tables;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;
using Microsoft.IdentityModel.Tokens;

namespace AccountFunctions.Core.External;

/// <summary>Where to send the browser at the start: the provider's authorization URL, and the browser-binding cookie value.</summary>
public sealed record ExternalStart(string AuthorizationUrl, string BrowserBinding);

/// <summary>What the provider sent back to the callback (query parameters).</summary>
public sealed record ExternalCallback(string? Code, string? State, string? Error, string? Issuer);

/// <summary>The identity an id_token proved (after signature, issuer, audience, nonce and expiry checks).</summary>
public sealed record ExternalIdentity(string Subject, string? Email, bool EmailVerified, string? GivenName, string? FamilyName);

/// <summary>
/// Sign-in with an OpenID Connect provider: authorization code flow with PKCE (S256), state and
/// nonce (docs/flows/external-login.md).
/// <list type="number">
/// <item>Start: a flow row keyed by a hash of the state (10 minutes, single use), bound to the
/// browser by a random cookie whose hash the row keeps. The PKCE verifier and the nonce are derived
/// from the state with the token key, so nothing secret is stored.</item>
/// <item>Callback: the row must exist, be unexpired, be for this provider and this browser; it is
/// consumed (marker insert) before anything else. Then the code is exchanged at the token endpoint
/// and the id_token validated. The account is found or created (linking rules in ResolveAsync), and
/// the browser goes to <c>returnUrl#code=…</c>: a one-time exchange code, never a token.</item>
/// <item>Exchange: the code (single use, <c>External__ExchangeCodeLifetime</c>) becomes a session, after the same status checks as
/// password login.</item>
/// </list>
/// </summary>
public sealed class ExternalLoginService(TokensTable tokenRows, AccountsTable accountRows, ExternalProviders providers, ExternalOptions options,
    AccountsOptions accounts, TokenKeys keys, OneTimeTokens tokens, AdminNotices adminNotices, EmailOwners owners, IdentifierIndex identifiers,
    SignInCompletion completion, RateLimiter limiter, AuditLog audit, TimeProvider time, ILogger<ExternalLoginService> log)
{
    private const int MaxTokenResponseBytes = 64 * 1024;

    private static readonly JsonWebTokenHandler Handler = new();
    // Asymmetric only: no "none", and no HS* (they would make the client secret a signing key).
    private static readonly string[] Algorithms =
        ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"];

    public string RedirectUri(ExternalProvider provider) => $"{accounts.BaseUrl}/api/login/external/{provider.Name}/callback";

    public async Task<Result<ExternalStart>> StartAsync(string providerName, string? returnUrl, string? existingBinding, ClientInfo client,
        CancellationToken ct = default)
    {
        if (providers.Find(providerName) is not { } provider) return Errors.NotFound;
        if (ReturnUrls.Match(returnUrl, accounts) is not { } target)
            return Errors.Validation("returnUrl", "Required, and must match one of the allowed return URLs (Accounts__AllowedReturnUrls).");
        var limit = await limiter.HitAsync("external-start", ClientAddress.LimitKey(ClientAddress.Parse(client.IpAddress)), options.StartLimitPerIp, options.StartLimitWindow, ct);
        if (!limit.Allowed) return Errors.TooManyRequests(limit.RetryAfter);
        if (await ConfigurationAsync(provider, ct) is not { } config || !provider.EndpointAllowed(config.AuthorizationEndpoint))
            return Errors.ProviderUnavailable;

        var state = Base64UrlEncoder.Encode(RandomNumberGenerator.GetBytes(32));
        var binding = IsToken(existingBinding) ? existingBinding! : Base64UrlEncoder.Encode(RandomNumberGenerator.GetBytes(32));
        var now = time.GetUtcNow();
        await tokenRows.AddFlowAsync(state, new ExternalFlowRow
        {
            Provider = provider.Name,
            ReturnUrl = target,
            BrowserHash = Hash(binding),
            CreatedAt = now,
            ExpiresAt = now + options.FlowLifetime,
        }, ct);

        var verifier = await DeriveAsync("pkce", state);
        var query = new Dictionary<string, string>
        {
            ["response_type"] = "code",
            ["client_id"] = provider.Options.ClientId!,
            ["redirect_uri"] = RedirectUri(provider),
            ["scope"] = provider.Scopes,
            ["state"] = state,
            ["nonce"] = await DeriveAsync("nonce", state),
            ["code_challenge"] = Base64UrlEncoder.Encode(SHA256.HashData(Encoding.ASCII.GetBytes(verifier))),
            ["code_challenge_method"] = "S256",
        };
        var endpoint = config.AuthorizationEndpoint;
        var url = endpoint + (endpoint.Contains('?') ? "&" : "?")
            + string.Join('&', query.Select(p => Uri.EscapeDataString(p.Key) + "=" + Uri.EscapeDataString(p.Value)));
        return new ExternalStart(url, binding);
    }

    /// <summary>
    /// The provider's redirect. State problems (unknown, expired, used, another provider's, another
    /// browser's) are <c>400 invalid_token</c> with nothing touched; once the state is good every
    /// outcome is a redirect to its returnUrl, with <c>#code=</c> or <c>#error=</c>.
    /// </summary>
    public async Task<Result<string>> CallbackAsync(string providerName, ExternalCallback callback, string? binding, CancellationToken ct = default)
    {
        if (providers.Find(providerName) is not { } provider) return Errors.NotFound;
        if (!IsToken(callback.State) || !IsToken(binding)) return Errors.InvalidToken;
        var flow = await tokenRows.GetFlowAsync(callback.State!, ct);
        if (flow is null || flow.Provider != provider.Name || time.GetUtcNow() >= flow.ExpiresAt) return Errors.InvalidToken;
        if (!CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(Hash(binding!)), Encoding.ASCII.GetBytes(flow.BrowserHash)))
            return Errors.InvalidToken;
        if (!await tokenRows.TryConsumeFlowAsync(flow, ct)) return Errors.InvalidToken;

        var returnUrl = flow.ReturnUrl;
        if (callback.Error is not null) return Fragment(returnUrl, "error", SafeErrorCode(callback.Error));
        if (string.IsNullOrEmpty(callback.Code) || callback.Code.Length > 2048) return Fragment(returnUrl, "error", "invalid_request");

        if (await ConfigurationAsync(provider, ct) is not { } config) return Fragment(returnUrl, "error", Errors.ProviderUnavailable.Code);
        // RFC 9207: a provider that names itself in the response must be the one the flow started with (mix-up defence).
        if (callback.Issuer is not null && callback.Issuer != config.Issuer) return Fragment(returnUrl, "error", "invalid_issuer");

        var idToken = await RedeemCodeAsync(provider, config, callback.Code, await DeriveAsync("pkce", callback.State!), ct);
        if (!idToken.Ok) return Fragment(returnUrl, "error", idToken.Error!.Code);
        var identity = await ValidateIdTokenAsync(provider, config, idToken.Value!, await DeriveAsync("nonce", callback.State!));
        if (identity is null)
        {
            log.LogWarning("Provider {Provider} returned an id_token that failed validation", provider.Name);
            return Fragment(returnUrl, "error", "invalid_id_token");
        }

        var account = await ResolveAsync(provider.Name, identity, ct);
        if (!account.Ok) return Fragment(returnUrl, "error", account.Error!.Code);
        var code = await tokens.IssueLinkAsync(TokenPurpose.External, account.Value!.Id, ExternalLinks.SubjectHash(provider.Name, identity.Subject),
            options.ExchangeCodeLifetime, ct);
        log.LogInformation("External sign-in via {Provider} for account {AccountId}", provider.Name, account.Value.Id);
        return Fragment(returnUrl, "code", code);
    }

    /// <summary>The one-time code from the returnUrl's fragment becomes a session (once).</summary>
    public async Task<Result<SignIn>> ExchangeAsync(string? code, bool rememberMe, bool useCookie, ClientInfo client, CancellationToken ct = default)
    {
        if (string.IsNullOrEmpty(code)) return Errors.Validation("code", "The code from the return URL is required.");
        var redeemed = await tokens.RedeemLinkAsync(TokenPurpose.External, code, ct);
        if (!redeemed.Ok) return redeemed.Error!;
        // The provider proved one factor; an account with MFA still answers its second.
        return await completion.CompleteAsync(new SignInStep(redeemed.Value!.AccountId, SignInMethod.External, rememberMe, useCookie), client, ct);
    }

    public async Task<List<ExternalLoginView>> ListAsync(string accountId, CancellationToken ct = default)
    {
        var account = await accountRows.GetAsync(accountId, ct);
        return account is null ? [] : ExternalLinks.View(account);
    }

    /// <summary>
    /// Removes a linked provider, if another way to sign in remains: a password, a verified email
    /// (sign-in by email link), or another linked provider; else <c>409 invalid_state</c>. The
    /// account's list changes first, under its ETag, so two parallel unlinks cannot both remove the
    /// last-but-one way; then the index row goes.
    /// </summary>
    public async Task<Result<bool>> UnlinkAsync(string accountId, string providerName, string? ip = null, CancellationToken ct = default)
    {
        var provider = providerName.ToLowerInvariant();
        Result<bool> result = default;
        await Optimistic.RetryAsync(async _ =>
        {
            var account = await accountRows.GetAsync(accountId, ct);
            if (account is null)
            {
                result = Errors.Unauthorized;
                return true;
            }
            var links = ExternalLinks.Read(account);
            var removed = links.Where(l => l.Provider == provider).ToList();
            if (removed.Count == 0)
            {
                result = Errors.NotFound;
                return true;
            }
            var remaining = links.Except(removed).ToList();
            var otherWay = account.PasswordHash is not null || (account.EmailVerified && account.Email is not null) || remaining.Count > 0;
            if (!otherWay)
            {
                result = Errors.InvalidState;
                return true;
            }
            ExternalLinks.Write(account, remaining);
            account.UpdatedAt = time.GetUtcNow();
            if (!await accountRows.TryReplaceAsync(account, ct)) return false;
            foreach (var link in removed)
            {
                await identifiers.ReleaseExternalOwnerAsync(link.Subject, accountId, ct);
            }
            log.LogInformation("Account {AccountId} unlinked {Provider}", accountId, provider);
            await audit.RecordAsync(AuditEvent.ExternalUnlinked, accountId, ip, AuditLog.Detail(("provider", provider)));
            result = true;
            return true;
        }, "Account kept changing while unlinking.", ct);
        return result;
    }

    /// <summary>
    /// The account for a proven identity:
    /// 1. the (provider, subject) index row, when the account lists the link too (a row whose account
    ///    does not list it is a link being written, if young, which this finishes; else a leftover of
    ///    an unlink or a deletion, which is removed);
    /// 2. else the verified owner of an email the provider marks verified: the login is linked to it;
    /// 3. else a new account (active, or pending_approval in approval mode; refused in invite-only
    ///    mode), with the email only if the provider marks it verified and no one owns it yet.
    /// The index row is always inserted first (AddEntity: the insert is the lock), so two first
    /// sign-ins of one subject in parallel end in one account.
    /// </summary>
    private async Task<Result<Account>> ResolveAsync(string provider, ExternalIdentity identity, CancellationToken ct)
    {
        var subject = ExternalLinks.SubjectHash(provider, identity.Subject);
        Result<Account> result = default;
        await Optimistic.RetryAsync(async _ =>
        {
            var now = time.GetUtcNow();
            var row = await identifiers.GetExternalOwnerAsync(subject, ct);
            if (row is not null)
            {
                var linked = await accountRows.GetAsync(row.AccountId, ct);
                var young = now - row.CreatedAt < ExternalLinks.InFlight;
                if (linked is not null && ExternalLinks.Has(linked, provider, subject))
                {
                    result = linked;
                    return true;
                }
                if (linked is not null && young)
                {
                    if (await AddLinkAsync(linked, provider, subject, row.CreatedAt, ct) is { } finished)
                    {
                        result = finished;
                        return true;
                    }
                    return false;
                }
                if (linked is null && young)
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(100), ct); // a parallel first sign-in is creating it
                    return false;
                }
                await identifiers.TryRemoveAsync(row, ct);
                return false;
            }

            var email = identity.Email is { } e && EmailAddress.IsValid(e) ? e.Trim() : null;
            if (email is not null && identity.EmailVerified && await owners.OwnerAsync(EmailAddress.Hash(email), ct) is { } owner)
            {
                if (!await TryAddIndexAsync(subject, owner.Id, now, ct)) return false;
                if (await AddLinkAsync(owner, provider, subject, now, ct) is { } linked)
                {
                    result = linked;
                    return true;
                }
                await identifiers.RemoveExternalOwnerAsync(subject, ct);
                return false;
            }

            // Invite-only: a bootstrap admin's provider-verified address may start the deployment,
            // as it may by signing up (nobody else can make the first invite).
            if (accounts.InviteOnly && !(email is not null && identity.EmailVerified && accounts.IsBootstrapAdmin(EmailAddress.Normalize(email))))
            {
                result = Errors.InviteRequired;
                return true;
            }
            var account = Account.New(Account.NewId(), now);
            if (!await TryAddIndexAsync(subject, account.Id, now, ct)) return false;
            await CreateAsync(account, provider, subject, identity, email, ct);
            result = account;
            return true;
        }, "Could not settle the account of an external login.", ct);
        return result;
    }

    private async Task CreateAsync(Account account, string provider, string subject, ExternalIdentity identity, string? email, CancellationToken ct)
    {
        var now = account.CreatedAt;
        account.FirstName = CleanName(identity.GivenName);
        account.LastName = CleanName(identity.FamilyName);
        account.Status = accounts.RequireAdminApproval ? AccountStatus.PendingApproval : AccountStatus.Active;
        ExternalLinks.Write(account, [new ExternalLogin(provider, subject, now)]);
        // Only an address the provider verified, and only if no one owns it (the owner row insert is the lock).
        if (email is not null && identity.EmailVerified && await identifiers.TryAddEmailOwnerAsync(EmailAddress.Hash(email), account.Id, now, ct))
        {
            account.Email = email;
            account.EmailVerified = true;
            if (accounts.IsBootstrapAdmin(EmailAddress.Normalize(email)))
            {
                account.Role = Roles.Admin;
                account.Status = AccountStatus.Active;
            }
        }
        await accountRows.CreateAsync(account, ct);
        if (account.Role == Roles.Admin) await identifiers.AddAdminAsync(account.Id, now, ct);
        if (account.Status == AccountStatus.PendingApproval) await adminNotices.RequestApprovalAsync(account, ct);
        log.LogInformation("Account {AccountId} created by external sign-in via {Provider}; status {Status}", account.Id, provider, account.Status);
    }

    private Task<bool> TryAddIndexAsync(string subjectHash, string accountId, DateTimeOffset now, CancellationToken ct) =>
        identifiers.TryAddExternalOwnerAsync(subjectHash, accountId, now, ct);

    /// <summary>Adds the link to the account's list (ETag); null when the account is gone.</summary>
    private async Task<Account?> AddLinkAsync(Account account, string provider, string subject, DateTimeOffset linkedAt, CancellationToken ct)
    {
        Account? result = default;
        await Optimistic.RetryAsync(async _ =>
        {
            var links = ExternalLinks.Read(account);
            if (links.Any(l => l.Provider == provider && l.Subject == subject))
            {
                result = account;
                return true;
            }
            links.Add(new ExternalLogin(provider, subject, linkedAt));
            ExternalLinks.Write(account, links);
            account.UpdatedAt = time.GetUtcNow();
            if (await accountRows.TryReplaceAsync(account, ct))
            {
                log.LogInformation("Account {AccountId} linked {Provider}", account.Id, provider);
                result = account;
                return true;
            }
            var fresh = await accountRows.GetAsync(account.Id, ct);
            if (fresh is null)
            {
                result = null;
                return true;
            }
            account = fresh;
            return false;
        }, "Account kept changing while linking.", ct);
        return result;
    }

    /// <summary>Exchanges the authorization code (with the PKCE verifier) for the id_token.</summary>
    private async Task<Result<string>> RedeemCodeAsync(ExternalProvider provider, OpenIdConnectConfiguration config, string code, string verifier,
        CancellationToken ct)
    {
        if (!provider.EndpointAllowed(config.TokenEndpoint)) return Errors.ProviderUnavailable;
        var form = new Dictionary<string, string>
        {
            ["grant_type"] = "authorization_code",
            ["code"] = code,
            ["redirect_uri"] = RedirectUri(provider),
            ["code_verifier"] = verifier,
        };
        using var request = new HttpRequestMessage(HttpMethod.Post, config.TokenEndpoint);
        var (id, secret) = (provider.Options.ClientId!, provider.Options.ClientSecret);
        if (provider.Options.ClientAuthentication == "post" || secret is null)
        {
            form["client_id"] = id;
            if (secret is not null) form["client_secret"] = secret;
        }
        else
        {
            // RFC 6749 2.3.1: both halves form-url-encoded before the base64.
            var pair = Uri.EscapeDataString(id) + ":" + Uri.EscapeDataString(secret);
            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(pair)));
        }
        request.Content = new FormUrlEncodedContent(form);
        request.Headers.Accept.ParseAdd("application/json");
        try
        {
            using var response = await providers.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
            var body = await ReadLimitedAsync(response.Content, ct);
            using var json = body is null ? null : TryParse(body);
            var root = json?.RootElement;
            if (!response.IsSuccessStatusCode)
            {
                log.LogWarning("Token endpoint of {Provider} answered {Status}", provider.Name, (int)response.StatusCode);
                return (int)response.StatusCode >= 500 ? Errors.ProviderUnavailable : new Error("token_exchange_failed", 400, "The provider refused the code.");
            }
            if (root is not { ValueKind: JsonValueKind.Object } obj || !obj.TryGetProperty("id_token", out var idToken)
                || idToken.ValueKind != JsonValueKind.String)
                return new Error("invalid_id_token", 400, "The provider returned no id_token.");
            return idToken.GetString()!;
        }
        catch (HttpRequestException e)
        {
            log.LogWarning(e, "Token endpoint of {Provider} unreachable", provider.Name);
            return Errors.ProviderUnavailable;
        }
        catch (TaskCanceledException) when (!ct.IsCancellationRequested)
        {
            return Errors.ProviderUnavailable;
        }
    }

    /// <summary>Signature (the provider's published keys; refreshed once on an unknown key), issuer, audience (and azp), expiry against our clock, nonce.</summary>
    private async Task<ExternalIdentity?> ValidateIdTokenAsync(ExternalProvider provider, OpenIdConnectConfiguration config, string idToken, string nonce)
    {
        if (idToken.Length > 16 * 1024) return null;
        var result = await Handler.ValidateTokenAsync(idToken, Parameters(provider, config));
        if (!result.IsValid && result.Exception is SecurityTokenSignatureKeyNotFoundException)
        {
            provider.Configuration.RequestRefresh();
            if (await ConfigurationAsync(provider, CancellationToken.None) is { } fresh)
                result = await Handler.ValidateTokenAsync(idToken, Parameters(provider, fresh));
        }
        if (!result.IsValid || result.SecurityToken is not JsonWebToken token) return null;

        var now = time.GetUtcNow().UtcDateTime;
        if (token.ValidTo == DateTime.MinValue || now > token.ValidTo + options.ClockSkew) return null;
        if (token.ValidFrom != DateTime.MinValue && now + options.ClockSkew < token.ValidFrom) return null;
        var audiences = token.Audiences.ToList();
        if (audiences.Count > 1 && (!token.TryGetPayloadValue<string>("azp", out var azp) || azp != provider.Options.ClientId)) return null;
        if (!token.TryGetPayloadValue<string>("nonce", out var presented) || presented is null
            || !CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(presented), Encoding.UTF8.GetBytes(nonce)))
            return null;
        if (!token.TryGetPayloadValue<string>("sub", out var sub) || string.IsNullOrEmpty(sub) || sub.Length > 255) return null;

        token.TryGetPayloadValue<string>("email", out var email);
        // Some providers send email_verified as the string "true".
        var verified = (token.TryGetPayloadValue<bool>("email_verified", out var flag) && flag)
            || (token.TryGetPayloadValue<string>("email_verified", out var text) && text == "true");
        token.TryGetPayloadValue<string>("given_name", out var given);
        token.TryGetPayloadValue<string>("family_name", out var family);
        return new ExternalIdentity(sub, email, verified, given, family);
    }

    private static TokenValidationParameters Parameters(ExternalProvider provider, OpenIdConnectConfiguration config) => new()
    {
        ValidIssuer = config.Issuer,
        ValidAudience = provider.Options.ClientId,
        IssuerSigningKeys = config.SigningKeys,
        ValidAlgorithms = Algorithms,
        ValidateLifetime = false, // checked against TimeProvider by the caller
        RequireExpirationTime = true,
        RequireSignedTokens = true,
    };

    /// <summary>The discovery document; null when the provider cannot be reached or names another issuer.</summary>
    private async Task<OpenIdConnectConfiguration?> ConfigurationAsync(ExternalProvider provider, CancellationToken ct)
    {
        try
        {
            var config = await provider.Configuration.GetConfigurationAsync(ct);
            // OpenID Connect Discovery 4.3: the issuer must be the URL the document was fetched for.
            if (config.Issuer?.TrimEnd('/') != provider.Authority)
            {
                log.LogError("Provider {Provider} names issuer {Issuer}, not its authority", provider.Name, config.Issuer);
                return null;
            }
            return config;
        }
        catch (InvalidOperationException e) when (!ct.IsCancellationRequested)
        {
            log.LogWarning(e, "Discovery for {Provider} failed", provider.Name);
            return null;
        }
    }

    /// <summary>The PKCE verifier ("pkce") or the nonce ("nonce") of a flow: HMAC of its state under the token key, 43 base64url characters.</summary>
    private async Task<string> DeriveAsync(string label, string state) => Base64UrlEncoder.Encode(await keys.MacAsync("oidc-" + label, state));


    private static string Hash(string value) => Convert.ToHexStringLower(SHA256.HashData(Encoding.ASCII.GetBytes(value)));

    /// <summary>State and binding values are 32 random bytes, base64url: exactly 43 such characters.</summary>
    private static bool IsToken(string? value) => value is { Length: 43 } && value.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_');

    private static string Fragment(string returnUrl, string name, string value) => $"{returnUrl}#{name}={Uri.EscapeDataString(value)}";

    /// <summary>Provider error codes are passed on only as [a-z_] words (RFC 6749 codes are), else as a generic one.</summary>
    private static string SafeErrorCode(string error) =>
        error.Length is > 0 and <= 64 && error.All(c => c is (>= 'a' and <= 'z') or '_') ? error : "provider_error";

    private static string? CleanName(string? name)
    {
        if (string.IsNullOrWhiteSpace(name)) return null;
        var clean = Text.EmailText.SingleLine(name.Trim())!.Trim();
        return clean.Length == 0 ? null : clean.Length > FieldRules.NameLength ? clean[..FieldRules.NameLength] : clean;
    }

    private static async Task<string?> ReadLimitedAsync(HttpContent content, CancellationToken ct)
    {
        await using var stream = await content.ReadAsStreamAsync(ct);
        var buffer = new byte[MaxTokenResponseBytes + 1];
        var total = 0;
        int read;
        while (total < buffer.Length && (read = await stream.ReadAsync(buffer.AsMemory(total), ct)) > 0) total += read;
        return total > MaxTokenResponseBytes ? null : Encoding.UTF8.GetString(buffer, 0, total);
    }

    private static JsonDocument? TryParse(string body)
    {
        try
        {
            return JsonDocument.Parse(body);
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
