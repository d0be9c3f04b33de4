using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.Extensions.Hosting;

// A tiny isolated worker app that exercises the local host (tests/LocalHost.Tests).
var builder = FunctionsApplication.CreateBuilder(args);
builder.ConfigureFunctionsWebApplication();
builder.Build().Run();
