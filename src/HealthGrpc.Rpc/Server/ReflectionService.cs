using Google.Protobuf;
using Google.Protobuf.Reflection;
using Grpc.Reflection.V1;
using HealthGrpc.Rpc.Server;

namespace HealthGrpc.Rpc;

/// <summary>The symbol and file index behind server reflection, built from the mapped service descriptors.</summary>
internal sealed class ReflectionIndex
{
    private readonly Dictionary<string, FileDescriptor> _files = new(StringComparer.Ordinal);
    private readonly Dictionary<string, FileDescriptor> _symbols = new(StringComparer.Ordinal);
    private readonly List<string> _serviceNames = [];

    public ReflectionIndex(IReadOnlyList<ServiceDescriptor> services)
    {
        foreach (var service in services)
        {
            _serviceNames.Add(service.FullName);
            AddFile(service.File);
        }
    }

    public IReadOnlyList<string> ServiceNames => _serviceNames;

    private void AddFile(FileDescriptor file)
    {
        if (!_files.TryAdd(file.Name, file))
        {
            return;
        }

        foreach (var s in file.Services)
        {
            _symbols.TryAdd(s.FullName, file);
            foreach (var m in s.Methods)
            {
                _symbols.TryAdd(m.FullName, file);
            }
        }

        foreach (var m in file.MessageTypes)
        {
            AddMessage(m, file);
        }

        foreach (var e in file.EnumTypes)
        {
            _symbols.TryAdd(e.FullName, file);
        }

        foreach (var x in file.Extensions.UnorderedExtensions)
        {
            _symbols.TryAdd(x.FullName, file);
        }

        foreach (var dep in file.Dependencies)
        {
            AddFile(dep);
        }
    }

    private void AddMessage(MessageDescriptor message, FileDescriptor file)
    {
        _symbols.TryAdd(message.FullName, file);
        foreach (var nested in message.NestedTypes)
        {
            AddMessage(nested, file);
        }

        foreach (var e in message.EnumTypes)
        {
            _symbols.TryAdd(e.FullName, file);
        }

        foreach (var f in message.Fields.InDeclarationOrder())
        {
            _symbols.TryAdd(f.FullName, file);
        }
    }

    public FileDescriptor? FindFileByName(string name) => _files.GetValueOrDefault(name);

    public FileDescriptor? FindFileBySymbol(string symbol) => _symbols.GetValueOrDefault(symbol.TrimStart('.'));

    public bool IsMessageType(string symbol) =>
        _symbols.TryGetValue(symbol, out var file) && file.FindTypeByName<MessageDescriptor>(symbol.StartsWith(file.Package + ".", StringComparison.Ordinal) ? symbol[(file.Package.Length + 1)..] : symbol) is not null;

    /// <summary>The file followed by its transitive dependencies, each once.</summary>
    public static IEnumerable<ByteString> WithDependencies(FileDescriptor file)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var stack = new Stack<FileDescriptor>();
        stack.Push(file);
        while (stack.Count > 0)
        {
            var f = stack.Pop();
            if (!seen.Add(f.Name))
            {
                continue;
            }

            yield return f.SerializedData;
            for (var i = f.Dependencies.Count - 1; i >= 0; i--)
            {
                stack.Push(f.Dependencies[i]);
            }
        }
    }

    /// <summary>Answers one reflection request (v1 message shapes; v1alpha is wire-identical).</summary>
    public ServerReflectionResponse Answer(ServerReflectionRequest request)
    {
        var response = new ServerReflectionResponse { ValidHost = request.Host, OriginalRequest = request };
        switch (request.MessageRequestCase)
        {
            case ServerReflectionRequest.MessageRequestOneofCase.ListServices:
                var list = new ListServiceResponse();
                foreach (var name in _serviceNames)
                {
                    list.Service.Add(new ServiceResponse { Name = name });
                }

                response.ListServicesResponse = list;
                break;

            case ServerReflectionRequest.MessageRequestOneofCase.FileByFilename:
                SetFile(response, FindFileByName(request.FileByFilename), $"File not found: {request.FileByFilename}");
                break;

            case ServerReflectionRequest.MessageRequestOneofCase.FileContainingSymbol:
                SetFile(response, FindFileBySymbol(request.FileContainingSymbol), $"Symbol not found: {request.FileContainingSymbol}");
                break;

            case ServerReflectionRequest.MessageRequestOneofCase.FileContainingExtension:
                SetError(response, StatusCode.NotFound, $"Extension not found: {request.FileContainingExtension.ContainingType}({request.FileContainingExtension.ExtensionNumber})");
                break;

            case ServerReflectionRequest.MessageRequestOneofCase.AllExtensionNumbersOfType:
                if (FindFileBySymbol(request.AllExtensionNumbersOfType) is not null)
                {
                    response.AllExtensionNumbersResponse = new ExtensionNumberResponse { BaseTypeName = request.AllExtensionNumbersOfType };
                }
                else
                {
                    SetError(response, StatusCode.NotFound, $"Type not found: {request.AllExtensionNumbersOfType}");
                }

                break;

            default:
                SetError(response, StatusCode.InvalidArgument, "Empty or unknown reflection request.");
                break;
        }

        return response;
    }

    private static void SetFile(ServerReflectionResponse response, FileDescriptor? file, string notFound)
    {
        if (file is null)
        {
            SetError(response, StatusCode.NotFound, notFound);
            return;
        }

        var fd = new FileDescriptorResponse();
        fd.FileDescriptorProto.AddRange(WithDependencies(file));
        response.FileDescriptorResponse = fd;
    }

    private static void SetError(ServerReflectionResponse response, StatusCode code, string message) =>
        response.ErrorResponse = new ErrorResponse { ErrorCode = (int)code, ErrorMessage = message };
}

/// <summary>grpc.reflection.v1.ServerReflection.</summary>
internal sealed class ReflectionServiceV1(RpcServiceRegistry registry)
{
    public async Task ServerReflectionInfo(IAsyncEnumerable<ServerReflectionRequest> requests, IServerStreamWriter<ServerReflectionResponse> responses, ServerCallContext context)
    {
        var index = new ReflectionIndex(registry.Services);
        await foreach (var request in requests.WithCancellation(context.CancellationToken))
        {
            await responses.WriteAsync(index.Answer(request));
        }
    }
}

/// <summary>grpc.reflection.v1alpha.ServerReflection (same wire format as v1; converted through bytes).</summary>
internal sealed class ReflectionServiceV1Alpha(RpcServiceRegistry registry)
{
    public async Task ServerReflectionInfo(
        IAsyncEnumerable<Grpc.Reflection.V1Alpha.ServerReflectionRequest> requests,
        IServerStreamWriter<Grpc.Reflection.V1Alpha.ServerReflectionResponse> responses,
        ServerCallContext context)
    {
        var index = new ReflectionIndex(registry.Services);
        await foreach (var request in requests.WithCancellation(context.CancellationToken))
        {
            var v1 = ServerReflectionRequest.Parser.ParseFrom(request.ToByteString());
            var answer = index.Answer(v1);
            await responses.WriteAsync(Grpc.Reflection.V1Alpha.ServerReflectionResponse.Parser.ParseFrom(answer.ToByteString()));
        }
    }
}
