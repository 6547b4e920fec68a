namespace HealthGrpc.Server.ChangeFeed;

/// <summary>A subscriber did not take a Subscribe message within the write timeout; the call ends (RESOURCE_EXHAUSTED).</summary>
internal sealed class SubscriberTooSlowException(TimeSpan writeTimeout)
    : Exception($"the subscriber did not read a change-feed message within {writeTimeout.TotalSeconds:0.#} s; the server ended the stream rather than buffer for it: Subscribe again with the last token received.");
