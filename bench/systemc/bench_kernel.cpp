// The kernel microbenchmarks of bench/bench_kernel.py as SystemC 2.3.4 programs.
// Build: g++ -O2 -o bench_kernel bench_kernel.cpp -lsystemc
// Run:   ./bench_kernel <case> <n>   prints "<resumptions> <cpu seconds>"
// One case per process: a SystemC program elaborates once.
#define SC_INCLUDE_DYNAMIC_PROCESSES
#include <systemc.h>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <iostream>
#include <vector>

static long g_n, g_m;
static long g_count = 0;

SC_MODULE(Timed) {  // 1000 processes doing timed waits
    SC_CTOR(Timed) {
        for (int i = 0; i < 1000; i++)
            sc_spawn(sc_bind(&Timed::worker, this, (i % 7 + 1)));
    }
    void worker(int d) { for (long k = 0; k < g_n; k++) wait(d, SC_NS); }
};

SC_MODULE(Fifo) {  // bounded fifo producer/consumer, depth 16
    sc_fifo<long> f;
    SC_CTOR(Fifo) : f("f", 16) { SC_THREAD(producer); SC_THREAD(consumer); }
    void producer() { for (long i = 0; i < g_n; i++) { f.write(i); wait(1, SC_NS); } }
    void consumer() { for (long i = 0; i < g_n; i++) { f.read(); wait(1, SC_NS); } }
};

SC_MODULE(PingPong) {  // immediate (delta = false) or delta notification
    sc_event ping, pong;
    bool delta;
    PingPong(sc_module_name n, bool d) : sc_module(n), delta(d) { SC_THREAD(b); SC_THREAD(a); }
    SC_HAS_PROCESS(PingPong);
    void a() {
        if (!delta) wait(SC_ZERO_TIME);
        for (long i = 0; i < g_n; i++) {
            if (delta) ping.notify(SC_ZERO_TIME); else ping.notify();
            wait(pong);
        }
    }
    void b() {
        for (long i = 0; i < g_n; i++) {
            wait(ping);
            if (delta) pong.notify(SC_ZERO_TIME); else pong.notify();
        }
    }
};

SC_MODULE(Clocked) {  // 100 methods on one clock
    sc_clock clk;
    SC_CTOR(Clocked) : clk("clk", 10, SC_NS) {
        for (int i = 0; i < 100; i++) {
            sc_spawn_options o; o.spawn_method(); o.dont_initialize(); o.set_sensitivity(&clk.posedge_event());
            sc_spawn(sc_bind(&Clocked::body, this), sc_gen_unique_name("m"), &o);
        }
    }
    void body() { g_count++; }
};

SC_MODULE(Locks) {  // 10 processes contending for a mutex (capacity 1) or a semaphore
    sc_mutex mx;
    sc_semaphore sem;
    int capacity;
    Locks(sc_module_name n, int c) : sc_module(n), mx("mx"), sem("sem", c), capacity(c) {
        for (int i = 0; i < 10; i++) sc_spawn(sc_bind(&Locks::user, this));
    }
    void user() {
        for (long k = 0; k < g_n; k++) {
            if (capacity == 1) { mx.lock(); wait(1, SC_NS); mx.unlock(); }
            else { sem.wait(); wait(1, SC_NS); sem.post(); }
        }
    }
};

SC_MODULE(Queue) {  // an event queue holding 97 pending notifications
    sc_event_queue eq;
    SC_CTOR(Queue) : eq("eq") { SC_THREAD(watcher); SC_THREAD(poster); }
    void poster() {
        for (long i = 0; i < g_n; i++) {
            eq.notify((i % 97 + 1), SC_NS);
            if (i % 97 == 96) wait(100, SC_NS);
        }
    }
    void watcher() { for (long i = 0; i < g_n; i++) wait(eq.default_event()); }
};

int sc_main(int argc, char* argv[]) {
    if (argc < 3) { std::cerr << "usage: bench_kernel <case> <n>\n"; return 2; }
    const char* c = argv[1];
    g_n = std::atol(argv[2]);
    long work = 0;
    std::clock_t t0 = std::clock();
    if (!std::strcmp(c, "timed")) { new Timed("t"); work = 1000 * g_n; sc_start(); }
    else if (!std::strcmp(c, "fifo")) { new Fifo("f"); work = g_n; sc_start(); }
    else if (!std::strcmp(c, "pingpong")) { new PingPong("p", false); work = 2 * g_n; sc_start(); }
    else if (!std::strcmp(c, "delta")) { new PingPong("p", true); work = 2 * g_n; sc_start(); }
    else if (!std::strcmp(c, "clocked")) {
        new Clocked("c"); work = 100 * g_n; sc_start(sc_time((g_n - 1) * 10 + 0.001, SC_NS));
        if (g_count != work) { std::cerr << "clocked: " << g_count << " != " << work << "\n"; return 1; }
    }
    else if (!std::strcmp(c, "mutex")) { new Locks("l", 1); work = 10 * g_n; sc_start(); }
    else if (!std::strcmp(c, "semaphore")) { new Locks("l", 4); work = 10 * g_n; sc_start(); }
    else if (!std::strcmp(c, "event_queue")) { new Queue("q"); work = g_n; sc_start(); }
    else { std::cerr << "unknown case " << c << "\n"; return 2; }
    double dt = double(std::clock() - t0) / CLOCKS_PER_SEC;
    std::cout << work << " " << dt << "\n";
    return 0;
}
