using System.Collections.Frozen;
using System.Reflection;
using AccountFunctions.Core;
using AccountFunctions.Core.Security;
using Microsoft.Azure.Functions.Worker;

namespace AccountFunctions.Functions.Hosting;

/// <summary>
/// What a request needs before and after its function runs, declared on the function method and
/// applied by <see cref="EdgeMiddleware"/> (in this order: caching headers, per-IP limit, caller,
/// admin, timing floor).
/// </summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class ClientLimitAttribute(ClientLimitGroup group) : Attribute
{
    public ClientLimitGroup Group { get; } = group;
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

/// <summary>
/// The function's answers are public documents that may be cached: the edge sends
/// <see cref="CacheControl"/> instead of its default, <c>Cache-Control: no-store</c> (with
/// <c>Pragma: no-cache</c>), which every other answer carries, whatever its outcome: any of them may
/// hold a token, a secret or personal data. The function may still set its own per answer (the
/// pages do). Not allowed on a function that needs a caller: an authenticated answer is never public.
/// </summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class CacheableAttribute(string cacheControl) : Attribute
{
    public string CacheControl { get; } = cacheControl;
}

/// <summary>The policies of one function.</summary>
public sealed record FunctionPolicy(ClientLimitGroup? ClientLimit, bool RequireCaller, bool RequireAdmin, bool TimingFloor, string? CacheControl = null)
{
    public static readonly FunctionPolicy None = new(null, false, false, false);

    /// <summary>What every answer of a function that is not <see cref="CacheableAttribute"/> carries.</summary>
    public const string NoStore = "no-store";
}

/// <summary>
/// Every function's policies, read from the function methods' attributes once, when the worker
/// starts. Anything that cannot be resolved (a limit group that does not exist, a policy on a
/// method that is no HTTP function, two functions of one name) stops the start: a policy that
/// silently resolved to nothing would leave a function open.
/// </summary>
public sealed class FunctionPolicies
{
    private readonly FrozenDictionary<string, FunctionPolicy> _byFunction;

    private FunctionPolicies(FrozenDictionary<string, FunctionPolicy> byFunction) => _byFunction = byFunction;

    /// <summary>By function name (as in functions.metadata), every function of the app, HTTP or not.</summary>
    public IReadOnlyDictionary<string, FunctionPolicy> All => _byFunction;

    public FunctionPolicy For(string functionName) => _byFunction.TryGetValue(functionName, out var policy)
        ? policy
        : throw new InvalidOperationException($"Function '{functionName}' was not among the functions whose policies were resolved when the worker started.");

    public static FunctionPolicies Resolve(Assembly assembly) => Resolve(assembly.GetTypes(), assembly.GetName().Name);

    public static FunctionPolicies Resolve(IEnumerable<Type> types, string? source = null)
    {
        var found = new Dictionary<string, FunctionPolicy>(StringComparer.Ordinal);
        var problems = new List<string>();
        var limits = new ClientLimitOptions();
        const BindingFlags Methods = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;
        foreach (var method in types.SelectMany(t => t.GetMethods(Methods)))
        {
            var where = $"{method.DeclaringType!.FullName}.{method.Name}";
            var limit = method.GetCustomAttribute<ClientLimitAttribute>();
            bool caller = method.IsDefined(typeof(RequireCallerAttribute)), admin = method.IsDefined(typeof(RequireAdminAttribute)),
                floor = method.IsDefined(typeof(TimingFloorAttribute));
            var cacheable = method.GetCustomAttribute<CacheableAttribute>();
            var declaresPolicy = limit is not null || caller || admin || floor || cacheable is not null;
            if (method.GetCustomAttribute<FunctionAttribute>() is not { } function)
            {
                if (declaresPolicy) problems.Add($"{where} declares a policy but is not a [Function].");
                continue;
            }
            if (declaresPolicy && !method.GetParameters().Any(p => p.IsDefined(typeof(HttpTriggerAttribute))))
                problems.Add($"Function '{function.Name}' ({where}) declares a policy but has no HTTP trigger.");
            if (limit is not null)
            {
                try { limits.For(limit.Group); }
                catch (ArgumentOutOfRangeException) { problems.Add($"Function '{function.Name}' ({where}) names client-limit group {(int)limit.Group}, which does not exist."); }
            }
            if (cacheable is not null && (caller || admin))
                problems.Add($"Function '{function.Name}' ({where}) is [Cacheable] but needs a caller: an authenticated answer is never public.");
            if (cacheable is { CacheControl: var cc } && (string.IsNullOrWhiteSpace(cc) || cc.Contains("no-store", StringComparison.OrdinalIgnoreCase)))
                problems.Add($"Function '{function.Name}' ({where}) is [Cacheable] without a caching directive.");
            if (!found.TryAdd(function.Name, new FunctionPolicy(limit?.Group, caller || admin, admin, floor, cacheable?.CacheControl)))
                problems.Add($"Two functions are named '{function.Name}'.");
        }
        if (found.Count == 0) problems.Add($"No [Function] methods in {source ?? "the types given"}.");
        if (problems.Count > 0)
            throw new InvalidOperationException("The function policies cannot be resolved: " + string.Join(" ", problems));
        return new FunctionPolicies(found.ToFrozenDictionary(StringComparer.Ordinal));
    }
}
