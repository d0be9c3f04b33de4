namespace AccountFunctions.Functions.Hosting;

/// <summary>
/// What a request needs before and after its function runs, declared on the function method and
/// applied by <see cref="EdgeMiddleware"/> (in this order: per-IP limit, caller, admin, timing floor).
/// </summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class ClientLimitAttribute(string group) : Attribute
{
    /// <summary>A group of <see cref="Core.RateLimitOptions"/>: signup, login, magic, forgot, resend, code.</summary>
    public string Group { get; } = group;
}

/// <summary>A valid ES256 access token whose session is still alive (401 otherwise).</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class RequireCallerAttribute : Attribute;

/// <summary>
/// The caller's account is, by what storage says now, an active admin (403 otherwise). Implies
/// <see cref="RequireCallerAttribute"/>: the token's role claim alone could be a token-life stale.
/// </summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class RequireAdminAttribute : Attribute;

/// <summary>
/// The answer must not tell whether an address has an account (signup, resend, forgot, sign-in by
/// email): those write rows and an email only for a known address, so they finish sooner for an
/// unknown one. The answer is held until <c>Security__EnumerationFloor</c> has passed since the
/// request began, so both paths answer after the same time while the work fits under the floor.
/// </summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class TimingFloorAttribute : Attribute;

/// <summary>The policies of one function, read once from its method's attributes.</summary>
public sealed record FunctionPolicy(string? ClientLimit, bool RequireCaller, bool RequireAdmin, bool TimingFloor)
{
    public static readonly FunctionPolicy None = new(null, false, false, false);

    public static FunctionPolicy From(System.Reflection.MethodInfo? method) => method is null ? None : new(
        method.GetCustomAttributes(typeof(ClientLimitAttribute), false).Cast<ClientLimitAttribute>().FirstOrDefault()?.Group,
        method.IsDefined(typeof(RequireCallerAttribute), false) || method.IsDefined(typeof(RequireAdminAttribute), false),
        method.IsDefined(typeof(RequireAdminAttribute), false),
        method.IsDefined(typeof(TimingFloorAttribute), false));
}
