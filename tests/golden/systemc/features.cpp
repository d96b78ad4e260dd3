// Reference logs for tlm's IEEE 1666 features beyond scenarios.cpp, produced
// by SystemC 2.3.4 (Debian libsystemc-dev): next_trigger, process control,
// reset_signal_is, sc_mutex, sc_semaphore, sc_event_queue, sc_buffer,
// duplicate names, sc_pause and repeated sc_start(t), ports and exports.
// Same line format as scenarios.cpp; `sh regenerate.sh` rebuilds both logs.
#include <systemc.h>
#include <iostream>
#include <sstream>

static void say(const std::string& m) {
    std::cout << sc_time_stamp().value() << " " << sc_delta_count() << " " << m << "\n";
}

SC_MODULE(Dyn) {  // next_trigger
    sc_event s_ev, e1;
    int n;
    SC_CTOR(Dyn) : n(0) {
        SC_METHOD(m); sensitive << s_ev;
        SC_THREAD(notifier);
    }
    void m() {
        std::ostringstream o; o << "nt: activation " << n; say(o.str());
        switch (n++) {
          case 0: next_trigger(5, SC_NS); break;
          case 1: next_trigger(e1); break;
          case 2: next_trigger(sc_time(10, SC_NS), e1); break;
          case 3: next_trigger(sc_time(3, SC_NS), e1); break;
          case 4: next_trigger(e1); next_trigger(2, SC_NS); break;
          case 5: next_trigger(e1); next_trigger(); break;
          default: break;
        }
    }
    void notifier() {
        wait(6, SC_NS); s_ev.notify();       // ignored: a dynamic trigger is pending
        wait(6, SC_NS); e1.notify();         // 12
        wait(3, SC_NS); e1.notify();         // 15
        wait(10, SC_NS); e1.notify();        // 25: ignored, static again
        wait(5, SC_NS); s_ev.notify();       // 30
        wait(5, SC_NS); s_ev.notify(SC_ZERO_TIME);  // 35
    }
};

SC_MODULE(Ctl) {  // suspend/resume, disable/enable, kill, reset, reset_signal_is
    sc_event ev, ev2, ev3;
    sc_signal<bool> rst;
    sc_process_handle hw, hc, hr, hb;
    SC_CTOR(Ctl) : rst("rst") {
        SC_THREAD(worker); hw = sc_get_current_process_handle();
        SC_THREAD(counter); hc = sc_get_current_process_handle();
        SC_THREAD(resettable); hr = sc_get_current_process_handle(); reset_signal_is(rst, true);
        SC_THREAD(controller);
        SC_THREAD(watch);
        SC_THREAD(brief); hb = sc_get_current_process_handle();
        SC_THREAD(watch_brief);
    }
    void brief() { wait(140, SC_NS); say("brief: returns"); }
    void watch_brief() { wait(hb.terminated_event()); say("watch: brief terminated"); }
    void worker() {
        try {
            while (true) { wait(ev); say("worker: woke"); }
        } catch (const sc_unwind_exception&) { say("worker: unwinding"); throw; }
    }
    void counter() {
        say("counter: start");
        try {
            while (true) { wait(ev2); say("counter: tick"); }
        } catch (const sc_unwind_exception&) { say("counter: unwinding"); throw; }
    }
    void resettable() {
        say("rst: start");
        try {
            while (true) { wait(ev3); say("rst: tick"); }
        } catch (const sc_unwind_exception&) { say("rst: unwinding"); throw; }
    }
    void watch() {
        wait(hw.terminated_event()); say("watch: worker terminated");
    }
    void controller() {
        wait(100, SC_NS); ev.notify();                         // 100: woke
        wait(1, SC_NS); hw.suspend(); ev.notify(); say("ctl: suspended, notified");
        wait(2, SC_NS); say("ctl: resume"); hw.resume();       // 103: woke
        wait(2, SC_NS); hw.disable(); ev.notify(); say("ctl: disabled, notified");
        wait(2, SC_NS); hw.enable(); say("ctl: enabled");
        wait(2, SC_NS); ev.notify(SC_ZERO_TIME);               // 109: woke
        wait(2, SC_NS); say("ctl: kill"); hw.kill(); say("ctl: after kill");  // 111
        wait(9, SC_NS); ev2.notify();                          // 120: tick
        wait(2, SC_NS); say("ctl: reset"); hc.reset(); say("ctl: after reset");  // 122
        wait(2, SC_NS); ev2.notify();                          // 124: tick
        wait(6, SC_NS); ev3.notify();                          // 130: tick
        wait(2, SC_NS); rst.write(true);                       // 132
        wait(2, SC_NS); ev3.notify();                          // 134: restarts
        wait(2, SC_NS); rst.write(false);                      // 136
        wait(2, SC_NS); ev3.notify();                          // 138: tick
    }
};

SC_MODULE(Sync) {  // sc_mutex, sc_semaphore
    sc_mutex mx;
    sc_semaphore sem;
    SC_CTOR(Sync) : mx("mx"), sem("sem", 2) {
        SC_THREAD(a); SC_THREAD(b);
        SC_THREAD(s1); SC_THREAD(s2); SC_THREAD(s3);
    }
    void a() {
        wait(200, SC_NS); mx.lock(); say("A: locked");
        wait(10, SC_NS); mx.unlock(); say("A: unlocked");
        wait(1, SC_NS);
        std::ostringstream o; o << "A: unlock when not owner " << mx.unlock(); say(o.str());
    }
    void b() {
        wait(202, SC_NS);
        std::ostringstream o; o << "B: trylock " << mx.trylock(); say(o.str());
        mx.lock(); say("B: locked");
        wait(5, SC_NS); mx.unlock(); say("B: unlocked");
        std::ostringstream p; p << "B: trylock " << mx.trylock(); say(p.str());
        mx.unlock();
    }
    void take(const char* who, int at, int hold) {
        wait(at, SC_NS);
        sem.wait();
        std::ostringstream o; o << who << ": took, value " << sem.get_value(); say(o.str());
        wait(hold, SC_NS);
        sem.post();
        std::ostringstream p; p << who << ": posted, value " << sem.get_value(); say(p.str());
    }
    void s1() { take("S1", 230, 10); }
    void s2() { wait(1, SC_NS); take("S2", 230, 20); }
    void s3() {
        wait(233, SC_NS);
        std::ostringstream o; o << "S3: trywait " << sem.trywait(); say(o.str());
        take("S3", 0, 5);
    }
};

SC_MODULE(Queues) {  // sc_event_queue, sc_buffer
    sc_event_queue eq;
    sc_buffer<int> buf;
    SC_CTOR(Queues) : eq("eq"), buf("buf") {
        SC_THREAD(poster); SC_THREAD(watch_eq); SC_THREAD(writer); SC_THREAD(watch_buf);
    }
    void poster() {
        wait(300, SC_NS);
        eq.notify(5, SC_NS); eq.notify(5, SC_NS); eq.notify(2, SC_NS); eq.notify(SC_ZERO_TIME);
        say("eq: four posted");
        wait(10, SC_NS);
        eq.notify(3, SC_NS); eq.notify(4, SC_NS); eq.cancel_all(); say("eq: cancel_all");
        wait(10, SC_NS);
        eq.notify(1, SC_NS);
    }
    void watch_eq() {
        while (true) { wait(eq.default_event()); say("eq: fired"); }
    }
    void writer() {
        wait(400, SC_NS);
        buf.write(3);
        wait(SC_ZERO_TIME); buf.write(3);
        wait(SC_ZERO_TIME); buf.write(4);
    }
    void watch_buf() {
        while (true) {
            wait(buf.value_changed_event());
            std::ostringstream o; o << "buf: changed to " << buf.read(); say(o.str());
        }
    }
};

SC_MODULE(Pauser) {
    SC_CTOR(Pauser) { SC_THREAD(run); }
    void run() {
        wait(500, SC_NS); say("pauser: pause"); sc_pause();
        wait(SC_ZERO_TIME); say("pauser: next delta");
        wait(10, SC_NS); say("pauser: at 510");
    }
};

SC_MODULE(Producer) {
    sc_signal<int> sig;
    sc_export<sc_signal_inout_if<int> > out;
    SC_CTOR(Producer) : sig("sig"), out("out") { out(sig); SC_THREAD(run); }
    void run() { wait(600, SC_NS); sig.write(7); wait(10, SC_NS); sig.write(8); }
};

SC_MODULE(Inner) {
    sc_port<sc_signal_in_if<int> > in;
    SC_CTOR(Inner) : in("in") { SC_THREAD(run); }
    void run() {
        while (true) {
            wait(in->value_changed_event());
            std::ostringstream o; o << name() << ": read " << in->read(); say(o.str());
        }
    }
};

SC_MODULE(Outer) {
    sc_port<sc_signal_in_if<int> > in;
    Inner inner;
    SC_CTOR(Outer) : in("in"), inner("inner") { inner.in(in); }
};

SC_MODULE(Dup) {
    SC_CTOR(Dup) {}
};

int sc_main(int, char*[]) {
    Dyn dyn("dyn");
    Ctl ctl("ctl");
    Sync sync("sync");
    Queues queues("queues");
    Pauser pauser("pauser");
    Producer producer("producer");
    Outer outer("outer");
    Inner direct("direct");
    outer.in(producer.out);
    direct.in(producer.out);
    Dup d1("dup");
    Dup d2("dup");
    Dup d3("dup");
    say(std::string("names: ") + d1.name() + " " + d2.name() + " " + d3.name());
    sc_start(150, SC_NS); say("main: first run ends");
    sc_start(150, SC_NS); say("main: second run ends");
    sc_start(); say("main: paused");
    sc_start(10, SC_NS); say("main: 10 ns more");
    sc_start(200, SC_NS); say("main: end");
    return 0;
}
