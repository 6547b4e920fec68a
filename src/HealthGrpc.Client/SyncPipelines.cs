using Polly;
using Polly.Retry;
using Polly.Timeout;

namespace HealthGrpc.Client;

/// <summary>The engine's two Polly pipelines, built from the options.</summary>
internal static class SyncPipelines
{
    /// <summary>
    /// Reconnects after a transient session failure, without bound: exponential backoff with jitter from
    /// <see cref="HealthSyncOptions.RetryBaseDelay"/> up to <see cref="HealthSyncOptions.RetryMaxDelay"/>.
    /// <paramref name="onRetry"/> runs before each wait.
    /// </summary>
    public static ResiliencePipeline Reconnect<TTransient>(HealthSyncOptions options, Func<OnRetryArguments<object>, ValueTask> onRetry)
        where TTransient : Exception =>
        new ResiliencePipelineBuilder { TimeProvider = options.TimeProvider }
            .AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = new PredicateBuilder().Handle<TTransient>(),
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = options.RetryBaseDelay,
                MaxDelay = options.RetryMaxDelay,
                MaxRetryAttempts = int.MaxValue,
                OnRetry = onRetry,
            })
            .Build();

    /// <summary>
    /// The quick tries of <see cref="HealthSyncClient.SendImmediateAsync"/>: each of <see cref="HealthSyncOptions.ImmediateAttemptTimeout"/>,
    /// after the delays of <see cref="HealthSyncOptions.ImmediateRetryDelays"/> (the first one is waited by the caller).
    /// </summary>
    public static ResiliencePipeline Immediate(HealthSyncOptions options)
    {
        var delays = options.ImmediateRetryDelays.Count > 0 ? options.ImmediateRetryDelays : [TimeSpan.Zero];
        var builder = new ResiliencePipelineBuilder { TimeProvider = options.TimeProvider };
        if (delays.Count > 1)
        {
            builder.AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = new PredicateBuilder().Handle<TimeoutRejectedException>(),
                MaxRetryAttempts = delays.Count - 1,
                DelayGenerator = args => ValueTask.FromResult<TimeSpan?>(delays[Math.Min(args.AttemptNumber + 1, delays.Count - 1)]),
            });
        }

        return builder.AddTimeout(options.ImmediateAttemptTimeout).Build();
    }
}
