using Grpc.Core;
using Microsoft.Azure.WebJobs.Script.Grpc.Messages;

namespace AccountFunctions.LocalHost;

/// <summary>The gRPC <c>FunctionRpc.EventStream</c> the worker calls; the host does the rest.</summary>
internal sealed class RpcService(LocalFunctionsHost host) : FunctionRpc.FunctionRpcBase
{
    public override Task EventStream(IAsyncStreamReader<StreamingMessage> requestStream, IServerStreamWriter<StreamingMessage> responseStream, ServerCallContext context) =>
        host.RunEventStreamAsync(requestStream, responseStream, context);
}
