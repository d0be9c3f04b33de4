using AccountFunctions.Core;
using AccountFunctions.Functions.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;

namespace AccountFunctions.Functions.Operations;

/// <summary>
/// Any request under /api/ that no other function takes: the contract's 404 problem, not the
/// host's empty 404, which a client cannot parse. A known path with a method its function does
/// not take lands here too (404, as before).
/// </summary>
public sealed class UnknownRouteFunction
{
    /// <summary>
    /// Azure's host tries routes in function-name order and takes the first that matches (it sorts
    /// the functions by name, case-insensitive, and applies no route precedence), so this name must
    /// sort after every other HTTP function's; FunctionMetadataTests checks it. The local host
    /// orders by ASP.NET route precedence, where a catch-all comes last anyway.
    /// </summary>
    public const string Name = "ZzUnknownApiRoute";

    // Not HEAD: its answer has no body, so the host's empty 404 says as much.
    [Function(Name)]
    public ProblemResult NotFound(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", "post", "put", "patch", "delete", "options", Route = "api/{*rest}")] HttpRequest req) =>
        Errors.NotFound.ToProblem();
}
