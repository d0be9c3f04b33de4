namespace AccountFunctions.Core;

/// <summary>An expected failure: a stable machine code, the HTTP status it maps to, a title for people.</summary>
public sealed record Error(string Code, int Status, string Title, IReadOnlyDictionary<string, string[]>? Errors = null)
{
    public TimeSpan? RetryAfter { get; init; }
}

/// <summary>The one catalogue of error codes clients can rely on.</summary>
public static class Errors
{
    public static Error Validation(IReadOnlyDictionary<string, string[]> errors) =>
        new("validation_failed", 400, "The request is not valid.", errors);
    public static Error Validation(string field, string message) =>
        Validation(new Dictionary<string, string[]> { [field] = [message] });
    public static Error WeakPassword(string message) =>
        new("weak_password", 400, "The password is too weak.", new Dictionary<string, string[]> { ["password"] = [message] });

    public static readonly Error MalformedJson = new("malformed_json", 400, "The request body is not valid JSON.");
    public static readonly Error UnsupportedMediaType = new("unsupported_media_type", 415, "The request body must be application/json.");
    public static readonly Error InvalidToken = new("invalid_token", 400, "The link or code is invalid, used or expired.");
    public static readonly Error EmailTaken = new("email_taken", 409, "Another account has already verified this email address.");
    public static readonly Error InvalidCredentials = new("invalid_credentials", 401, "The identifier or password is wrong.");
    public static readonly Error WrongPassword = new("wrong_password", 400, "The current password is wrong.");
    public static readonly Error EmailNotVerified = new("email_not_verified", 403, "The email address has not been verified yet.");
    public static readonly Error ApprovalPending = new("approval_pending", 403, "The account is waiting for an administrator's approval.");
    public static readonly Error AccountLocked = new("account_locked", 403, "The account is locked.");
    public static readonly Error AccountRejected = new("account_rejected", 403, "The account was not approved.");
    public static readonly Error Unauthorized = new("unauthorized", 401, "Authentication is required.");
    public static readonly Error Forbidden = new("forbidden", 403, "You are not allowed to do this.");
    public static readonly Error NotFound = new("not_found", 404, "Nothing is here.");
    public static readonly Error MethodNotAllowed = new("method_not_allowed", 405, "This method is not allowed here.");
    public static readonly Error PayloadTooLarge = new("payload_too_large", 413, "The request body is too large.");
    public static readonly Error TokenReused = new("token_reused", 401, "The refresh token was already used; the session has ended.");
    public static readonly Error InviteRequired = new("invite_required", 400, "Signing up needs an invite code.");
    public static readonly Error InviteInvalid = new("invite_invalid", 400, "The invite code is invalid, used, expired or meant for another address.");
    public static readonly Error ConcurrentUpdate = new("concurrent_update", 409, "The account changed while this request was applied; try again.");
    public static readonly Error InvalidState = new("invalid_state", 409, "The account is not in a state that allows this.");
    public static readonly Error ProviderUnavailable = new("provider_unavailable", 503, "The sign-in provider cannot be reached; try again shortly.");
    public static readonly Error InvalidCode = new("invalid_code", 400, "The code is wrong, expired or was already used.");
    public static readonly Error MfaAlreadyEnabled = new("mfa_already_enabled", 409, "Two-factor authentication is already on; turn it off before setting it up again.");
    public static readonly Error MfaSetupRequired = new("mfa_setup_required", 409, "Start the two-factor setup first (POST /api/me/mfa/totp).");
    public static readonly Error CrossSiteRequest = new("cross_site_request", 403, "This request must come from this app's own pages (same origin).");
    public static readonly Error StorageUnavailable = new("storage_unavailable", 503, "Storage is unavailable; try again shortly.");
    public static Error TooManyRequests(TimeSpan retryAfter) =>
        new("too_many_requests", 429, "Too many requests; try again later.") { RetryAfter = retryAfter };
}

/// <summary>A value or an expected failure.</summary>
public readonly struct Result<T>
{
    private Result(T? value, Error? error) { Value = value; Error = error; }
    public T? Value { get; }
    public Error? Error { get; }
    public bool Ok => Error is null;
    public static implicit operator Result<T>(T value) => new(value, null);
    public static implicit operator Result<T>(Error error) => new(default, error);
}
