using Google.Protobuf.Reflection;
using Grpc.AspNetCore.Server;
using HealthGrpc.Contracts.V1;
using Microsoft.OpenApi.Models;

namespace HealthGrpc.Server.HttpApi;

/// <summary>
/// <c>Server:JsonTranscoding</c>: the methods annotated with <c>google.api.http</c> in proto/ (Upload, GetCheckpoint,
/// the reads, sharing's unary calls) also as JSON over plain HTTP (<c>/v1/...</c>), through the same services,
/// interceptors, auth and limits as gRPC; and the OpenAPI document generated from the same annotations and the
/// contract's comments, at <see cref="DocumentPath"/> on the same endpoint.
/// </summary>
internal static class HttpApi
{
    public const string DocumentName = "v1";

    public const string DocumentPath = "/openapi/v1.json";

    /// <summary>
    /// The messages an error body may hold in <c>details</c>: a JSON <c>google.protobuf.Any</c> can only be written for
    /// a type the formatter knows, and these are the ones <see cref="Services.StatusMapper"/> packs.
    /// </summary>
    private static readonly TypeRegistry ErrorDetailTypes = TypeRegistry.FromMessages(ErrorDetail.Descriptor, Google.Rpc.BadRequest.Descriptor);

    public static void AddHttpApi(this IGrpcServerBuilder grpc)
    {
        grpc.AddJsonTranscoding(transcoding =>
        {
            transcoding.TypeRegistry = ErrorDetailTypes;
            // The proto3 JSON mapping: 64-bit integers as strings, which JavaScript reads without losing digits.
            transcoding.JsonSettings.WriteInt64sAsStrings = true;
        });
        grpc.Services.AddGrpcSwagger();
        grpc.Services.AddSwaggerGen(swagger =>
        {
            swagger.SwaggerDoc(DocumentName, new OpenApiInfo
            {
                Title = "HealthGrpc",
                Version = DocumentName,
                Description = "The HealthGrpc v1 contract (proto/healthgrpc/v1) as JSON over HTTP: gRPC JSON transcoding of the " +
                    "google.api.http annotations. Errors are a google.rpc.Status in JSON with the same ErrorDetail as gRPC (docs/protocol.md).",
            });
            var bearer = new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.Http,
                Scheme = "bearer",
                Description = "A token from `healthgrpc token create`, as on gRPC (`authorization: Bearer <token>`).",
                Reference = new OpenApiReference { Type = ReferenceType.SecurityScheme, Id = "bearer" },
            };
            swagger.AddSecurityDefinition("bearer", bearer);
            swagger.AddSecurityRequirement(new OpenApiSecurityRequirement { [bearer] = [] });
            // The contract's proto comments, as Grpc.Tools copies them into the generated code's XML documentation.
            var contractComments = Path.ChangeExtension(typeof(ErrorDetail).Assembly.Location, ".xml");
            if (File.Exists(contractComments))
            {
                swagger.IncludeXmlComments(contractComments);
                swagger.IncludeGrpcXmlComments(contractComments, includeControllerXmlComments: true);
            }
        });
    }

    /// <summary>Serves the OpenAPI document; without credentials (it describes the API, it holds no data).</summary>
    public static void MapOpenApiDocument(this WebApplication app) =>
        app.UseSwagger(swagger => swagger.RouteTemplate = "openapi/{documentName}.json");
}
